//! The endpoints themselves: reachable, a registry (`GET /v2/` answers 200 or 401), and
//! trusted by Docker on this host, judged by the `check` engine with what is installed under
//! ROOT. All endpoints are probed at once under the one `--timeout` deadline.

use std::time::{Instant, SystemTime};

use super::{quote, Finding, Fixes, Severity};
use crate::config::Config;
use crate::x509::{self, Anchors};

pub(super) fn inspect(config: &Config, fixes: &Fixes) -> Vec<Finding> {
    let endpoints = config.endpoints();
    let deadline = Instant::now() + config.timeout.value;
    let probes: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = endpoints
            .iter()
            .map(|endpoint| {
                scope.spawn(move || {
                    crate::tls::http::probe_registry(endpoint, deadline, &Default::default())
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join()).collect()
    });

    let mut findings = Vec::new();
    let mut reachable = 0;
    for (endpoint, probe) in endpoints.iter().zip(probes) {
        let ep = quote(endpoint.to_string());
        let probe = match probe {
            Ok(Ok(probe)) => probe,
            Ok(Err(unreachable)) => {
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
            Err(_) => continue,
        };
        reachable += 1;
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
        let judgement = x509::judge(
            &probe.chain.certs,
            &Anchors::with_certs_d(config, crate::trust::docker_endpoint_dir(config, endpoint)),
            endpoint,
            &config.other_endpoints(endpoint),
            SystemTime::now(),
        );
        if !judgement.trusted {
            findings.push(
                Finding::new(
                    "endpoint-untrusted",
                    Severity::Error,
                    format!(
                        "Docker on this host refuses {endpoint}: {}",
                        judgement.docker_error.as_deref().unwrap_or("untrusted")
                    ),
                )
                .fix(fixes.dcosreg(&format!("trust {ep}"))),
            );
        }
        // The verdict above already carries the error; the explanations inform.
        findings.extend(judgement.findings.into_iter().map(|finding| Finding {
            severity: finding.severity.min(Severity::Warning),
            message: format!("{endpoint}: {}", finding.message),
            ..finding
        }));
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
                    humantime::format_duration(config.timeout.value)
                ),
            )
            .fix(fixes.dcosreg("endpoint --format json")),
        );
    }
    findings
}
