//! `snippet marathon`: the guide's registry app, corrected.
//!
//! The guide's JSON has `"coainer"` for `container` (Marathon rejects the unknown key),
//! lists `portDefinitions` beside BRIDGE port mappings (which Marathon refuses together) and
//! ships the secret `123456secret`. This keeps its layout (Marathon 1.4 `container.docker`
//! networking, which Marathon 1.5+ still accepts and migrates) and derives `VIP_0` from the
//! internal endpoint and `servicePort` from the external one.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Context, Language, Section, Snippet, CONTAINER_CERT_DIR, REGISTRY_CERT_DIR};
use crate::endpoint::Host;

/// The DC/OS named-VIP domain: `/NAME:PORT` is reachable as NAME.marathon.l4lb.thisdcos.directory.
const NAMED_VIP_SUFFIX: &str = ".marathon.l4lb.thisdcos.directory";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct App {
    id: &'static str,
    instances: u32,
    cpus: f64,
    mem: u32,
    disk: u32,
    container: Container,
    health_checks: Vec<HealthCheck>,
    labels: BTreeMap<&'static str, String>,
    env: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct Container {
    #[serde(rename = "type")]
    kind: &'static str,
    docker: Docker,
    volumes: Vec<Volume>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Docker {
    image: &'static str,
    network: &'static str,
    force_pull_image: bool,
    privileged: bool,
    port_mappings: Vec<PortMapping>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PortMapping {
    container_port: u16,
    host_port: u16,
    service_port: u16,
    protocol: &'static str,
    name: &'static str,
    labels: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    container_path: String,
    host_path: &'static str,
    mode: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HealthCheck {
    protocol: &'static str,
    port_index: u32,
    grace_period_seconds: u32,
    interval_seconds: u32,
    timeout_seconds: u32,
    max_consecutive_failures: u32,
}

/// The `VIP_0` label for the internal endpoint: `IP:PORT`, or `/NAME:PORT` for a named VIP.
fn vip_label(context: &Context) -> (String, Option<String>) {
    let endpoint = &context.internal;
    match &endpoint.host {
        Host::Ip(_) => (endpoint.host_port(), None),
        Host::Dns(name) => match name.strip_suffix(NAMED_VIP_SUFFIX) {
            Some(app) if !app.contains('.') => (format!("/{app}:{}", endpoint.port), None),
            _ => (
                format!("/registry:{}", endpoint.port),
                Some(format!(
                    "the internal endpoint {name} is neither an IP VIP nor a name under {NAMED_VIP_SUFFIX}: the app gets the named VIP /registry:{port}; point {name} at registry{NAMED_VIP_SUFFIX} or use --internal with the VIP",
                    port = endpoint.port
                )),
            ),
        },
    }
}

/// A fresh random secret the user is told to replace (the guide's `123456secret` is public).
fn secret_placeholder() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    let random = ring::rand::SystemRandom::new().fill(&mut bytes).is_ok();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if random {
        format!("CHANGE-ME-{hex}")
    } else {
        "CHANGE-ME".to_string()
    }
}

pub(super) fn build(context: &Context) -> Snippet {
    let (vip, vip_note) = vip_label(context);
    let app = App {
        id: "/registry",
        instances: 1,
        cpus: 0.5,
        mem: 128,
        disk: 0,
        container: container(context, vip),
        health_checks: vec![HealthCheck {
            protocol: "MESOS_TCP",
            port_index: 0,
            grace_period_seconds: 60,
            interval_seconds: 60,
            timeout_seconds: 20,
            max_consecutive_failures: 3,
        }],
        labels: BTreeMap::from([
            ("HAPROXY_GROUP", "external".to_string()),
            // The registry terminates TLS itself: Marathon-LB must pass bytes through.
            ("HAPROXY_0_MODE", "tcp".to_string()),
        ]),
        env: registry_env(),
    };
    let mut content = serde_json::to_string_pretty(&app).unwrap_or_default();
    content.push('\n');
    let mut notes = vec![
        "replace REGISTRY_HTTP_SECRET's CHANGE-ME value with your own secret (the same on every instance)".to_string(),
        format!(
            "{REGISTRY_CERT_DIR}/domain.crt and domain.key must exist on the agent that runs the app (`docker dcosreg cert` makes them), and /data/docker-registry keeps the images on that agent only: pin the app with \"constraints\": [[\"hostname\", \"CLUSTER\", \"<agent>\"]]"
        ),
        format!(
            "deploy: dcos marathon app add registry.json; inside the cluster use {}, outside {} (Marathon-LB's service port {})",
            context.internal.reference_host(),
            context.external.reference_host(),
            context.external.port
        ),
    ];
    notes.extend(vip_note);
    Snippet {
        kind: "marathon",
        sections: vec![Section {
            id: "app",
            title: "Marathon app: the registry".into(),
            format: Language::Json,
            content,
        }],
        notes,
    }
}

/// The registry's container: `registry:2` behind the VIP and Marathon-LB's service port,
/// with the certificate directory and the image store mounted from the agent.
fn container(context: &Context, vip: String) -> Container {
    Container {
        kind: "DOCKER",
        docker: Docker {
            image: "registry:2",
            network: "BRIDGE",
            force_pull_image: false,
            privileged: false,
            port_mappings: vec![PortMapping {
                container_port: 5000,
                host_port: 0,
                service_port: context.external.port,
                protocol: "tcp",
                name: "registry",
                labels: BTreeMap::from([("VIP_0", vip)]),
            }],
        },
        volumes: vec![
            Volume {
                container_path: CONTAINER_CERT_DIR.to_string(),
                host_path: REGISTRY_CERT_DIR,
                mode: "RO",
            },
            Volume {
                container_path: "/var/lib/registry".into(),
                host_path: "/data/docker-registry",
                mode: "RW",
            },
        ],
    }
}

/// The registry's TLS from the mounted pair, and a secret to replace.
fn registry_env() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        (
            "REGISTRY_HTTP_TLS_CERTIFICATE",
            format!("{CONTAINER_CERT_DIR}/domain.crt"),
        ),
        (
            "REGISTRY_HTTP_TLS_KEY",
            format!("{CONTAINER_CERT_DIR}/domain.key"),
        ),
        ("REGISTRY_HTTP_SECRET", secret_placeholder()),
    ])
}
