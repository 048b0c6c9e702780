//! The fuzz property of the lexer, the resolver and the rewrite (`crate::fuzz::lexer`, the
//! `lexer` fuzz target): here because it checks the submodules' internals.

use super::rewrite::{self, retarget, BuildArgs};
use super::shell::NOWHERE;
use super::{lexer, reference, resolve};
use crate::endpoint::Endpoint;

/// The Dockerfile lexer, the resolver and the rewrite: never panic, tokens give every byte
/// back, fragments point at the bytes of their logical line, every resolved byte that
/// claims a source offset is the byte at that offset, a rewrite keeps every newline, is
/// idempotent, and leaves every value BuildKit resolves as it was except the hosts it
/// retargets.
pub(crate) fn lexer(data: &[u8]) {
    let df = lexer::parse(data);
    let mut at = 0;
    for token in &df.tokens {
        assert_eq!(token.span.start, at, "tokens are contiguous");
        assert!(token.span.end > token.span.start, "no empty token");
        at = token.span.end;
    }
    assert_eq!(at, data.len(), "tokens cover the input");
    for inst in &df.instructions {
        for f in &inst.fragments {
            assert_eq!(
                &data[f.source..f.source + f.len],
                &inst.text[f.logical..f.logical + f.len]
            );
        }
    }

    // The second set of build args makes R a value from outside the file.
    let mut outside = BuildArgs::new();
    outside.insert("R".into(), "192.168.0.1".into());
    for build_args in [BuildArgs::new(), outside] {
        for site in resolve::sites(data, &df, &build_args) {
            if let Ok(value) = &site.value {
                assert_eq!(value.bytes.len(), value.origin.len());
                for (byte, &origin) in value.bytes.iter().zip(&value.origin) {
                    if origin != NOWHERE {
                        assert_eq!(data[origin], *byte, "a byte's origin holds that byte");
                    }
                }
            }
        }

        let internal: Endpoint = "192.168.0.1".parse().expect("endpoint");
        let external: Endpoint = "192.168.1.50:5000".parse().expect("endpoint");
        for (from, to) in [(&internal, &external), (&external, &internal)] {
            let first = retarget(data, from, to, &build_args);
            if let Some(out) = first.text {
                let newlines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
                assert_eq!(newlines(&out), newlines(data), "no line moves");
                let again = retarget(&out, from, to, &build_args);
                assert!(again.text.is_none(), "rewrite is idempotent");
                // Values that did not name `from` before are unchanged after.
                let before = resolve::sites(data, &df, &build_args);
                let df2 = lexer::parse(&out);
                let after = resolve::sites(&out, &df2, &build_args);
                assert_eq!(before.len(), after.len(), "same values");
                for (b, a) in before.iter().zip(&after) {
                    // An image or an inherited registry ARG whose host is `from`.
                    let named = b.value.as_ref().is_ok_and(|v| {
                        rewrite::host_len(b.image, &v.bytes, from).is_some()
                            || reference::endpoint_domain_len(&v.bytes, from).is_some()
                    });
                    if !named {
                        assert_eq!(
                            b.value.as_ref().map(|v| &v.bytes),
                            a.value.as_ref().map(|v| &v.bytes),
                            "only hosts of {from} change"
                        );
                    }
                }
            }
        }
    }
}
