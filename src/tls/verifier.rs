//! The handshake signature check every connection makes, and the verifier that records the
//! chain for the judge.
//!
//! The chain a registry presents is public: anyone who connects gets it. What proves that
//! the peer *is* the registry is the handshake signature (TLS 1.2 ServerKeyExchange, TLS
//! 1.3 CertificateVerify), made with the leaf's private key. So trust in the chain may be
//! judged later (`crate::x509`, Go's rules), but the signature never is: a handshake whose
//! signature does not verify is refused here, whatever the reason (wrong scheme for the
//! key, garbage, another key, a key size ring cannot check), as Go's crypto/tls refuses it
//! (`handshake_client_tls13.go` readServerCertificate, `key_agreement.go`
//! processServerKeyExchange), with Go's text. The keys ring cannot check (RSA under 2048
//! bits, P-224, P-521, SHA-512 on P-256) are checked by `crate::x509`'s RustCrypto path.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::x509::{self, HandshakeScheme};

/// The schemes offered in the ClientHello, in the order Go 1.24's client offers them
/// (crypto/tls `defaultSupportedSignatureAlgorithms`), so that a server picks what it would
/// pick for Docker. A signature made with any other scheme is refused, as Go refuses it.
const OFFERED: [SignatureScheme; 12] = [
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::ECDSA_NISTP256_SHA256,
    SignatureScheme::ED25519,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ECDSA_NISTP521_SHA512,
    SignatureScheme::RSA_PKCS1_SHA1,
    SignatureScheme::ECDSA_SHA1_Legacy,
];

/// Go's text for a scheme the client did not offer, or (TLS 1.3) PKCS #1 v1.5 or SHA-1.
const INVALID_SCHEME: &str = "tls: certificate used with invalid signature algorithm";

/// Go's `errServerKeyExchange`: in TLS 1.2 rustls itself refuses a signature whose kind
/// does not fit the cipher suite (an RSA signature in an ECDHE_ECDSA handshake, or the
/// reverse) before asking us; Go's check (`key_agreement.go`, `isRSA`) says this.
pub(super) const INVALID_SERVER_KEY_EXCHANGE: &str = "tls: invalid ServerKeyExchange message";

/// A handshake refused because the server did not prove it holds the leaf's key. Carried
/// out of rustls as `rustls::Error::Other`; the text is Go's.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SignatureRefused(pub(crate) String);

fn refuse(go_error: impl Into<String>) -> rustls::Error {
    rustls::Error::Other(rustls::OtherError(Arc::new(SignatureRefused(
        go_error.into(),
    ))))
}

/// Go's checks, in Go's order, of `signature` by the leaf `cert` over `message`.
fn check(
    cert: &CertificateDer<'_>,
    scheme: SignatureScheme,
    signature: &[u8],
    message: &[u8],
    tls13: bool,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    if !OFFERED.contains(&scheme) {
        return Err(refuse(INVALID_SCHEME));
    }
    let code = u16::from(scheme);
    let scheme = HandshakeScheme::from_code(code)
        .ok_or_else(|| refuse(format!("unsupported signature algorithm: {code:#06x}")))?;
    // RFC 8446 4.4.3: no PKCS #1 v1.5 and no SHA-1 in a CertificateVerify.
    if tls13 && scheme.is_legacy() {
        return Err(refuse(INVALID_SCHEME));
    }
    x509::verify_handshake_signature(cert, scheme, message, signature)
        .map(|()| HandshakeSignatureValid::assertion())
        .map_err(refuse)
}

/// The TLS 1.2 ServerKeyExchange signature over `message` (client random, server random,
/// ECDHE parameters), as Go's `processServerKeyExchange` checks it.
pub(super) fn verify_tls12(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    check(cert, dss.scheme, dss.signature(), message, false)
}

/// The TLS 1.3 CertificateVerify signature over `message` (64 spaces, "TLS 1.3, server
/// CertificateVerify", a zero byte and the transcript hash: rustls builds it), as Go's
/// `readServerCertificate` checks it.
pub(super) fn verify_tls13(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    check(cert, dss.scheme, dss.signature(), message, true)
}

/// The schemes we offer.
pub(super) fn offered_schemes() -> Vec<SignatureScheme> {
    OFFERED.to_vec()
}

/// Accepts any chain and records it for `crate::x509` to judge after the handshake (or
/// after a refused signature: Go judges the chain first, so an untrusted chain is reported
/// as such even from an impostor). One per connection.
#[derive(Debug, Default)]
pub(super) struct RecordOnly {
    presented: Mutex<Vec<CertificateDer<'static>>>,
}

impl RecordOnly {
    /// The chain the server presented, leaf first (empty before its Certificate message).
    pub(super) fn presented(&self) -> Vec<CertificateDer<'static>> {
        self.presented
            .lock()
            .map(|chain| chain.clone())
            .unwrap_or_default()
    }
}

impl ServerCertVerifier for RecordOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut presented) = self.presented.lock() {
            *presented = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        offered_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    type Sign = Box<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

    /// A leaf certificate, its scheme and a way to sign with its key.
    struct Leaf {
        cert: CertificateDer<'static>,
        scheme: SignatureScheme,
        sign: Sign,
    }

    fn issue(public: &impl rcgen::PublicKeyData) -> CertificateDer<'static> {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
        let params = rcgen::CertificateParams::new(vec!["registry.test".to_string()]).unwrap();
        params.signed_by(public, &issuer).unwrap().der().clone()
    }

    /// An RSA public key rcgen can put in a certificate that ring would not sign with.
    struct RsaPublic(Vec<u8>);

    impl rcgen::PublicKeyData for RsaPublic {
        fn der_bytes(&self) -> &[u8] {
            &self.0
        }
        fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
            &rcgen::PKCS_RSA_SHA256
        }
    }

    /// P-256 and Ed25519 (ring), and RSA-1024 (RustCrypto: what ring cannot check).
    fn leaves() -> &'static [Leaf] {
        static LEAVES: OnceLock<Vec<Leaf>> = OnceLock::new();
        LEAVES.get_or_init(|| {
            let rng = ring::rand::SystemRandom::new();
            let p256 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
            let p256_der = p256.serialize_der();
            let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
            let ed_der = ed.serialize_der();
            let rsa_key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
            let rsa_public = {
                use rsa::pkcs1::EncodeRsaPublicKey as _;
                RsaPublic(rsa_key.to_public_key().to_pkcs1_der().unwrap().into_vec())
            };
            vec![
                Leaf {
                    cert: issue(&p256),
                    scheme: SignatureScheme::ECDSA_NISTP256_SHA256,
                    sign: Box::new(move |m| {
                        ring::signature::EcdsaKeyPair::from_pkcs8(
                            &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                            &p256_der,
                            &rng,
                        )
                        .unwrap()
                        .sign(&rng, m)
                        .unwrap()
                        .as_ref()
                        .to_vec()
                    }),
                },
                Leaf {
                    cert: issue(&ed),
                    scheme: SignatureScheme::ED25519,
                    sign: Box::new(move |m| {
                        ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&ed_der)
                            .unwrap()
                            .sign(m)
                            .as_ref()
                            .to_vec()
                    }),
                },
                Leaf {
                    cert: issue(&rsa_public),
                    scheme: SignatureScheme::RSA_PSS_SHA256,
                    sign: Box::new(move |m| {
                        use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
                        rsa::pss::BlindedSigningKey::<sha2::Sha256>::new(rsa_key.clone())
                            .sign_with_rng(&mut rsa::rand_core::OsRng, m)
                            .to_vec()
                    }),
                },
            ]
        })
    }

    fn verdict(
        leaf: &Leaf,
        scheme: SignatureScheme,
        sig: &[u8],
        msg: &[u8],
        tls13: bool,
    ) -> Result<(), String> {
        check(&leaf.cert, scheme, sig, msg, tls13)
            .map(|_| ())
            .map_err(|e| match e {
                rustls::Error::Other(other) => other
                    .0
                    .downcast_ref::<SignatureRefused>()
                    .map(|refused| refused.0.clone())
                    .unwrap_or_default(),
                other => panic!("not a SignatureRefused: {other}"),
            })
    }

    #[test]
    fn honest_signatures_verify_in_both_versions() {
        for leaf in leaves() {
            let sig = (leaf.sign)(b"transcript");
            for tls13 in [false, true] {
                assert_eq!(
                    verdict(leaf, leaf.scheme, &sig, b"transcript", tls13),
                    Ok(())
                );
            }
        }
    }

    #[test]
    fn refusals_read_as_go_writes_them() {
        let [p256, ed, rsa] = leaves() else {
            unreachable!()
        };
        let sig = (p256.sign)(b"m");
        assert_eq!(
            verdict(p256, SignatureScheme::RSA_PSS_SHA256, &sig, b"m", true).unwrap_err(),
            "tls: invalid signature by the server certificate: expected an RSA public key, got *ecdsa.PublicKey"
        );
        assert_eq!(
            verdict(p256, p256.scheme, &sig, b"n", true).unwrap_err(),
            "tls: invalid signature by the server certificate: ECDSA verification failure"
        );
        assert_eq!(
            verdict(ed, ed.scheme, &[0; 64], b"m", false).unwrap_err(),
            "tls: invalid signature by the server certificate: Ed25519 verification failure"
        );
        assert_eq!(
            verdict(rsa, rsa.scheme, &[1; 128], b"m", false).unwrap_err(),
            "tls: invalid signature by the server certificate: crypto/rsa: verification error"
        );
        // TLS 1.3 takes neither PKCS #1 v1.5 nor SHA-1; TLS 1.2 takes what was offered only.
        assert_eq!(
            verdict(
                rsa,
                SignatureScheme::RSA_PKCS1_SHA256,
                &[1; 128],
                b"m",
                true
            )
            .unwrap_err(),
            INVALID_SCHEME
        );
        assert_eq!(
            verdict(p256, SignatureScheme::ED448, &sig, b"m", false).unwrap_err(),
            INVALID_SCHEME
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any change to the signature, the message or the scheme is refused.
        #[test]
        fn a_signature_that_does_not_verify_is_refused(
            which in 0usize..3,
            flip in any::<usize>(),
            bit in 0u8..8,
            code in any::<u16>(),
            garbage in proptest::collection::vec(any::<u8>(), 0..300),
            tls13 in any::<bool>(),
        ) {
            let leaf = &leaves()[which];
            let sig = (leaf.sign)(b"the handshake");
            let mut flipped = sig.clone();
            let at = flip % flipped.len();
            flipped[at] ^= 1 << bit;
            prop_assert!(verdict(leaf, leaf.scheme, &flipped, b"the handshake", tls13).is_err());
            prop_assert!(verdict(leaf, leaf.scheme, &sig, b"the handshakf", tls13).is_err());
            prop_assert!(verdict(leaf, leaf.scheme, &garbage, b"the handshake", tls13).is_err());
            let other = SignatureScheme::from(code);
            if other != leaf.scheme {
                prop_assert!(verdict(leaf, other, &sig, b"the handshake", tls13).is_err());
            }
        }
    }
}
