//! The endpoints themselves: reachable, a registry (`GET /v2/` answers 200 or 401), and
//! trusted by Docker on this host, judged by the `check` engine with what is installed under
//! ROOT. All endpoints are probed at once under the one `--timeout` deadline, as
//! `crate::probe::reach` decides: a configured endpoint with no TCP answer within the
//! fallback delay while the other answered is not reachable from here (outside the
//! cluster?), an info finding, and is not waited for.

use std::time::{Instant, SystemTime};

use super::{quote, Finding, Fixes, Severity};
use crate::config::Config;
use crate::probe::Outcome;
use crate::x509::{self, Anchors};

pub(super) fn inspect(config: &Config, fixes: &Fixes) -> Vec<Finding> {
    let deadline = Instant::now() + config.timeout.value;
    let outcomes = crate::probe::reach(config, deadline, crate::tls::http::probe_registry);

    let mut findings = Vec::new();
    let mut reachable = 0;
    for (endpoint, outcome) in &outcomes {
        let ep = quote(endpoint.to_string());
        let probe = match outcome {
            Outcome::Reached(probe) => probe,
            Outcome::NotReachableFromHere(note) => {
                findings.push(
                    Finding::new("endpoint-not-reachable-from-here", Severity::Info, note)
                        .fix(fixes.dcosreg(&format!("check {ep}"))),
                );
                continue;
            }
            Outcome::Failed(unreachable) => {
                findings.push(
                    Finding::new(
                        "endpoint-unreachable",
                        Severity::Warning,
                        unreachable.to_string(),
                    )
                    .fix(fixes.dcosreg(&format!("check {ep} --timeout 10s"))),
                );
                continue;
            }
        };
        reachable += 1;
        findings.extend(reached(config, fixes, endpoint, probe));
    }
    if reachable == 0 {
        findings.push(
            Finding::new(
                "no-endpoint-reachable",
                Severity::Error,
                format!(
                    "neither {} nor {} answered within {}",
                    config.internal.value,
                    config.external.value,
                    crate::text::duration(config.timeout.value)
                ),
            )
            .fix(fixes.dcosreg("endpoint --format json")),
        );
    }
    findings
}

/// What a reachable endpoint shows: a registry or not, trusted by Docker here or not (and
/// why), a CA left from a rotation.
fn reached(
    config: &Config,
    fixes: &Fixes,
    endpoint: &crate::endpoint::Endpoint,
    probe: &crate::tls::http::RegistryProbe,
) -> Vec<Finding> {
    let ep = quote(endpoint.to_string());
    let mut findings = Vec::new();
    if !probe.is_registry() {
        let answer = match &probe.http_status {
            Ok(status) => format!("HTTP {status}"),
            Err(why) => why.to_string(),
        };
        findings.push(
            Finding::new(
                "not-a-registry",
                Severity::Warning,
                format!("{endpoint} speaks TLS but GET /v2/ gave {answer}, not 200 or 401: no Docker registry answers there"),
            )
            .fix(format!("curl -sk -o /dev/null -w '%{{http_code}}\\n' https://{}/v2/", endpoint.host_port())),
        );
    }
    let certs_d = match crate::trust::docker_endpoint_dir(config, endpoint) {
        Ok(dir) => dir,
        Err(err) => {
            findings.push(crate::finding::unresolvable(err));
            return findings;
        }
    };
    let judgement = x509::judge(
        &probe.chain.certs,
        &Anchors::with_certs_d(config, certs_d.clone()),
        endpoint,
        &config.other_endpoints(endpoint),
        SystemTime::now(),
    );
    if !judgement.trusted {
        let finding = Finding::new(
            "endpoint-untrusted",
            Severity::Error,
            format!(
                "Docker on this host refuses {endpoint}: {}",
                judgement.docker_error.as_deref().unwrap_or("untrusted")
            ),
        );
        // Installing a CA fixes an unknown authority only; any other refusal (a name,
        // a date, a usage) is the registry certificate's, and its own finding below
        // says how to reissue it.
        let unknown = judgement
            .findings
            .iter()
            .any(|f| f.code == "unknown-authority");
        findings.push(if unknown {
            // A ca.crt already there does not verify what the endpoint serves: plain
            // `trust` would keep it (kept-different, exit 1) and change nothing.
            let replace = certs_d.parent().is_some_and(|base| {
                endpoint.certs_d_names().iter().any(|name| {
                    config
                        .fs()
                        .exists(&base.join(name).join(crate::trust::CA_FILE))
                })
            });
            let force = if replace { " --force" } else { "" };
            finding.fix(fixes.dcosreg(&format!("trust {ep}{force}")))
        } else {
            finding
        });
    }
    if judgement.trusted {
        findings.extend(stale_cas(
            config,
            &certs_d,
            endpoint,
            &probe.chain.certs,
            fixes,
        ));
    }
    // The verdict above already carries the error and its fix (an unknown authority is
    // endpoint-untrusted's trust, said once); the other explanations inform.
    findings.extend(
        judgement
            .findings
            .into_iter()
            .filter(|f| f.code != "unknown-authority")
            .map(|finding| Finding {
                severity: finding.severity.min(Severity::Warning),
                message: format!("{endpoint}: {}", finding.message),
                ..finding
            }),
    );
    findings
}

/// A rotation left half done: in the endpoint's certs.d, a CA file that no longer verifies
/// the certificate the endpoint serves (another one does), to be untrusted by its
/// fingerprint once every registry serves the new certificate.
fn stale_cas(
    config: &Config,
    dir: &std::path::Path,
    endpoint: &crate::endpoint::Endpoint,
    chain: &[rustls_pki_types::CertificateDer<'static>],
    fixes: &Fixes,
) -> Vec<Finding> {
    let Ok(entries) = config.fs().read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<std::path::PathBuf> = entries
        .into_iter()
        .filter(|(p, link)| !link && p.extension().is_some_and(|x| x == "crt"))
        .map(|(p, _)| p)
        .collect();
    if files.len() < 2 {
        return Vec::new();
    }
    files.sort();
    let mut findings = Vec::new();
    for file in files {
        let Ok(own) = Anchors::from_file(config.fs(), &file) else {
            continue;
        };
        let Some(first) = own.certs.first().map(|a| x509::CertSummary::of_der(&a.der)) else {
            continue;
        };
        let mut alone = Anchors::system(config);
        alone.certs.extend(own.certs);
        let verdict = x509::judge(chain, &alone, endpoint, &[], SystemTime::now());
        if verdict.trusted {
            continue;
        }
        findings.push(
            Finding::new(
                "stale-ca",
                Severity::Warning,
                format!(
                    "{} ({}) no longer verifies the certificate {endpoint} serves; another CA there does: a CA rotation left half done",
                    file.display(),
                    first.subject
                ),
            )
            .fix(fixes.dcosreg(&format!(
                "untrust {} --fingerprint {}",
                quote(endpoint.to_string()),
                first.sha256
            ))),
        );
    }
    findings
}
