//! `--via kubernetes`: a DaemonSet (one pod per node) whose init container runs the same
//! [`super::script`] against the node's certs.d directories mounted as hostPath volumes, then a
//! tiny container that sleeps so the pod stays Running.
//!
//! Printed as JSON: every JSON document is also YAML (YAML 1.2 is a superset), so
//! `kubectl apply -f -` takes it as is, and no YAML crate is needed to emit or test it.
//! hostPath `DirectoryOrCreate` lets the kubelet create a missing certs.d directory.

use serde_json::{json, Value};

use super::script::{self, Payload, CERTS_D_BASES, SYSCTL_FILE};

pub(crate) const NAME: &str = "dcosreg-trust";
/// Where the node's directories appear inside the init container.
pub(crate) const HOST_ROOT: &str = "/host";

pub(crate) fn daemonset(payload: &Payload, image: &str) -> Value {
    let install = script::render(payload, "\"$DCOSREG_HOST_ROOT\"", true, "");
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    let mut dirs: Vec<(&str, String)> = CERTS_D_BASES
        .iter()
        .enumerate()
        .map(|(i, base)| (*base, format!("certs-{i}")))
        .collect();
    if payload.conntrack_liberal {
        let sysctl_dir = SYSCTL_FILE
            .rsplit_once('/')
            .map_or("/etc/sysctl.d", |(d, _)| d);
        dirs.push((sysctl_dir, "sysctl-d".to_string()));
    }
    for (path, name) in &dirs {
        mounts.push(json!({ "name": name, "mountPath": format!("{HOST_ROOT}{path}") }));
        volumes.push(json!({
            "name": name,
            "hostPath": { "path": path, "type": "DirectoryOrCreate" }
        }));
    }
    let labels = json!({
        "app.kubernetes.io/name": NAME,
        "app.kubernetes.io/managed-by": "docker-dcosreg"
    });
    // The conntrack sysctl is per network namespace: only a privileged pod on the host network
    // changes the node's value.
    let privileged = payload.conntrack_liberal;
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": { "name": NAME, "namespace": "kube-system", "labels": labels },
        "spec": {
            "selector": { "matchLabels": { "app.kubernetes.io/name": NAME } },
            "template": {
                "metadata": { "labels": labels },
                "spec": {
                    "hostNetwork": privileged,
                    // Every node, including tainted ones: they all pull images.
                    "tolerations": [{ "operator": "Exists" }],
                    "initContainers": [{
                        "name": "install-ca",
                        "image": image,
                        "command": ["sh", "-c", install],
                        "env": [{ "name": "DCOSREG_HOST_ROOT", "value": HOST_ROOT }],
                        "securityContext": { "runAsUser": 0, "privileged": privileged },
                        "volumeMounts": mounts
                    }],
                    "containers": [{
                        "name": "sleep",
                        "image": image,
                        "command": ["sh", "-c", "while :; do sleep 3600; done"],
                        "resources": { "requests": { "cpu": "1m", "memory": "8Mi" } }
                    }],
                    "volumes": volumes
                }
            }
        }
    })
}
