//! `snippet`: every kind's output parsed in its own language (bash, YAML, TOML, JSON) and
//! checked for the mounts and CA paths; those paths are the files `trust` really installs;
//! the Marathon app has the fields Marathon requires and none of the guide's mistakes.
mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::*;

const CERTS_D: &str = "/etc/docker/certs.d";
const KINDS: [&str; 9] = [
    "dind",
    "jenkins",
    "gitlab-runner",
    "compose",
    "marathon",
    "kaniko",
    "buildx",
    "dcos-credentials",
    "expiry",
];

/// `snippet KIND --format json` with the given endpoints (no network is used).
fn snippet_json(kind: &str, internal: &str, external: &str) -> Value {
    let out = dcosreg(&[
        "--internal",
        internal,
        "--external",
        external,
        "--format",
        "json",
        "snippet",
        kind,
    ]);
    assert_status_for(&out, 0, format_args!("snippet {kind}"));
    serde_json::from_str(&stdout(&out)).expect("snippet --format json prints JSON")
}

/// The contents of every section in `format`, parsed.
fn sections(snippet: &Value, format: &str) -> Vec<(String, String)> {
    snippet["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .filter(|s| s["format"] == format)
        .map(|s| {
            (
                s["title"].as_str().unwrap().to_string(),
                s["content"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

fn toml_value(text: &str) -> Value {
    toml::from_str(text).unwrap_or_else(|e| panic!("not TOML ({e}):\n{text}"))
}

/// Run a shell section with bash, `docker` replaced by a function that prints its
/// arguments: one Vec per `docker` invocation, split exactly as the shell splits them.
fn docker_invocations(script: &str) -> Vec<Vec<String>> {
    let check = Command::new("bash")
        .args(["--norc", "-n", "-c", script])
        .output()
        .expect("bash");
    assert_status_for(&check, 0, format_args!("bash -n\n{script}"));
    let wrapped = format!(
        "docker() {{ for a in \"$@\"; do printf '%s\\0' \"$a\"; done; printf '\\036'; }}\n{script}"
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &wrapped])
        .current_dir("/")
        .env("PWD", "/src")
        .stdin(Stdio::null())
        .output()
        .expect("bash");
    assert_status(&out, 0);
    String::from_utf8(out.stdout)
        .unwrap()
        .split('\u{1e}')
        .filter(|call| !call.is_empty())
        .map(|call| {
            call.split('\0')
                .filter(|a| !a.is_empty())
                .map(String::from)
                .collect()
        })
        .collect()
}

/// The values following each `flag` in an argument list.
fn flag_values<'a>(args: &'a [String], flag: &str) -> Vec<&'a str> {
    args.windows(2)
        .filter(|pair| pair[0] == flag)
        .map(|pair| pair[1].as_str())
        .collect()
}

fn assert_certs_d_ro_mount(args: &[String]) {
    let mounts = flag_values(args, "-v");
    assert!(
        mounts.contains(&format!("{CERTS_D}:{CERTS_D}:ro").as_str()),
        "no read-only certs.d mount in {args:?}"
    );
}

/// A Kubernetes pod whose `container` mounts the node's certs.d read-only.
fn assert_pod_mounts_certs_d(pod: &Value, container: &str) {
    assert_eq!(pod["kind"], "Pod");
    let volumes = pod["spec"]["volumes"].as_array().expect("volumes");
    let volume = volumes
        .iter()
        .find(|v| v["hostPath"]["path"] == CERTS_D)
        .unwrap_or_else(|| panic!("no hostPath volume for certs.d: {pod}"));
    let containers = pod["spec"]["containers"].as_array().expect("containers");
    let target = containers
        .iter()
        .find(|c| c["name"] == container)
        .unwrap_or_else(|| panic!("no container {container}"));
    let mounts = target["volumeMounts"].as_array().expect("volumeMounts");
    assert!(
        mounts.iter().any(|m| m["name"] == volume["name"]
            && m["mountPath"] == CERTS_D
            && m["readOnly"] == true),
        "{container} does not mount certs.d read-only: {mounts:?}"
    );
}

#[test]
fn dind_runs_and_sidecars_mount_certs_d() {
    let snippet = snippet_json("dind", "192.168.0.1", "192.168.1.50:5000");
    let shell = sections(&snippet, "shell");
    let calls = docker_invocations(&shell[0].1);
    assert_eq!(calls.len(), 1);
    assert!(calls[0].contains(&"--privileged".to_string()));
    assert_certs_d_ro_mount(&calls[0]);
    let pod = yaml(&sections(&snippet, "yaml")[0].1);
    assert_pod_mounts_certs_d(&pod, "dind");
    assert_eq!(
        pod["spec"]["containers"][0]["env"][1]["value"],
        "192.168.0.1"
    );
}

#[test]
fn jenkins_mesos_kubernetes_and_docker_agents_mount_certs_d() {
    let snippet = snippet_json("jenkins", "192.168.0.1", "192.168.1.50:5000");
    let yamls = sections(&snippet, "yaml");
    assert_eq!(yamls.len(), 2);
    let casc = yaml(&yamls[0].1);
    let template = &casc["jenkins"]["clouds"][0]["mesos"]["mesosAgentSpecTemplates"][0];
    let volumes = template["containerInfo"]["volumes"]
        .as_array()
        .expect("volumes");
    assert!(
        volumes.iter().any(|v| v["containerPath"] == CERTS_D
            && v["hostPath"] == CERTS_D
            && v["readOnly"] == true),
        "{volumes:?}"
    );
    assert_eq!(template["containerInfo"]["type"], "DOCKER");
    assert_eq!(
        template["containerInfo"]["dockerImage"], "dcosreg-jenkins-agent",
        "the image the agent section builds: jenkins/inbound-agent has no docker CLI"
    );
    assert_pod_mounts_certs_d(&yaml(&yamls[1].1), "docker");
    let calls = docker_invocations(&sections(&snippet, "shell")[0].1);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(
        calls[0][..4],
        ["build", "-t", "dcosreg-jenkins-agent", "-f"],
        "{calls:?}"
    );
    assert_eq!(calls[1][0], "run");
    assert_eq!(calls[1].last().unwrap(), "dcosreg-jenkins-agent");
    assert_certs_d_ro_mount(&calls[1]);
}

#[test]
fn gitlab_runner_volumes_include_certs_d() {
    let snippet = snippet_json("gitlab-runner", "10.1.2.3", "192.168.1.50:5000");
    let config = toml_value(&sections(&snippet, "toml")[0].1);
    let runner = &config["runners"][0];
    assert_eq!(runner["executor"], "docker");
    assert_eq!(runner["docker"]["privileged"], true);
    let volumes: Vec<&str> = runner["docker"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        volumes.contains(&format!("{CERTS_D}:{CERTS_D}:ro").as_str()),
        "{volumes:?}"
    );
    assert_eq!(runner["environment"][0], "REGISTRY=10.1.2.3");
}

#[test]
fn compose_service_binds_certs_d_read_only() {
    let out = dcosreg(&["--internal", "registry.example:8443", "snippet", "compose"]);
    assert_status(&out, 0);
    let compose = yaml(&stdout(&out));
    let service = &compose["services"]["dind"];
    let volumes = service["volumes"].as_array().unwrap();
    assert!(volumes.iter().any(|v| v["type"] == "bind"
        && v["source"] == CERTS_D
        && v["target"] == CERTS_D
        && v["read_only"] == true));
    assert_eq!(service["environment"]["REGISTRY"], "registry.example:8443");
}

/// Top-level keys of Marathon's AppDefinition (its JSON schema has
/// additionalProperties: false), as far as this app could use them.
const MARATHON_APP_KEYS: [&str; 31] = [
    "id",
    "cmd",
    "args",
    "user",
    "env",
    "instances",
    "cpus",
    "mem",
    "disk",
    "gpus",
    "executor",
    "constraints",
    "fetch",
    "storeUrls",
    "backoffSeconds",
    "backoffFactor",
    "maxLaunchDelaySeconds",
    "container",
    "healthChecks",
    "readinessChecks",
    "dependencies",
    "upgradeStrategy",
    "labels",
    "acceptedResourceRoles",
    "ipAddress",
    "version",
    "residency",
    "secrets",
    "taskKillGracePeriodSeconds",
    "unreachableStrategy",
    "killSelection",
];

fn marathon_app(internal: &str, external: &str) -> (Value, String) {
    let out = dcosreg(&[
        "--internal",
        internal,
        "--external",
        external,
        "snippet",
        "marathon",
    ]);
    assert_status(&out, 0);
    let text = stdout(&out);
    let app: Value = serde_json::from_str(&text).expect("snippet marathon prints bare JSON");
    (app, stderr(&out))
}

#[test]
fn marathon_app_is_valid_and_derived_from_the_endpoints() {
    let (app, notes) = marathon_app("192.168.0.1", "192.168.1.50:5000");
    for key in app.as_object().unwrap().keys() {
        assert!(
            MARATHON_APP_KEYS.contains(&key.as_str()),
            "unknown app key {key:?}"
        );
    }
    assert_eq!(app["id"], "/registry");
    assert!(app["instances"].as_u64().unwrap() >= 1);
    assert!(app["cpus"].as_f64().unwrap() > 0.0);
    assert!(app["mem"].as_f64().unwrap() >= 32.0);
    let container = &app["container"];
    assert_eq!(container["type"], "DOCKER");
    let docker = &container["docker"];
    assert!(!docker["image"].as_str().unwrap().is_empty());
    assert_eq!(docker["network"], "BRIDGE");
    let mapping = &docker["portMappings"][0];
    assert_eq!(mapping["containerPort"], 5000);
    assert_eq!(mapping["protocol"], "tcp");
    // The VIP is ip:port, 443 when the endpoint has no port; the service port is external's.
    assert_eq!(mapping["labels"]["VIP_0"], "192.168.0.1:443");
    assert_eq!(mapping["servicePort"], 5000);
    assert_eq!(app["labels"]["HAPROXY_GROUP"], "external");
    assert!(
        app.get("portDefinitions").is_none(),
        "BRIDGE apps must not list portDefinitions"
    );

    // The certificate volume and the TLS env point at the files `cert` writes.
    let volumes = container["volumes"].as_array().unwrap();
    let certs = volumes
        .iter()
        .find(|v| v["hostPath"] == "/etc/privateregistry/certs")
        .expect("cert volume");
    assert_eq!(certs["mode"], "RO");
    let inside = certs["containerPath"]
        .as_str()
        .unwrap()
        .trim_end_matches('/');
    let env = &app["env"];
    assert_eq!(
        env["REGISTRY_HTTP_TLS_CERTIFICATE"],
        format!("{inside}/domain.crt")
    );
    assert_eq!(env["REGISTRY_HTTP_TLS_KEY"], format!("{inside}/domain.key"));
    let secret = env["REGISTRY_HTTP_SECRET"].as_str().unwrap();
    assert!(
        secret.starts_with("CHANGE-ME-") && secret.len() > 20,
        "{secret}"
    );
    assert!(notes.contains("REGISTRY_HTTP_SECRET"), "{notes}");
    let (again, _) = marathon_app("192.168.0.1", "192.168.1.50:5000");
    assert_ne!(
        again["env"]["REGISTRY_HTTP_SECRET"], secret,
        "each run generates its own"
    );

    // Other endpoints: explicit VIP port, another service port, a named VIP.
    let (app, _) = marathon_app("10.9.0.1:8443", "lb.example:6000");
    assert_eq!(
        app["container"]["docker"]["portMappings"][0]["labels"]["VIP_0"],
        "10.9.0.1:8443"
    );
    assert_eq!(
        app["container"]["docker"]["portMappings"][0]["servicePort"],
        6000
    );
    let (app, _) = marathon_app(
        "registry.marathon.l4lb.thisdcos.directory",
        "lb.example:5000",
    );
    assert_eq!(
        app["container"]["docker"]["portMappings"][0]["labels"]["VIP_0"],
        "/registry:443"
    );
}

#[test]
fn kaniko_and_buildx_name_every_endpoint_and_the_files_trust_installs() {
    let internal = unique_loopback_ip();
    let external = format!("{}:5000", unique_loopback_ip());
    let expected_names: BTreeSet<String> = [
        internal.clone(),
        format!("{internal}:443"),
        external.clone(),
    ]
    .into();

    // Install a CA with `trust` under a staging root: the files the snippets name must exist.
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let made = dcosreg(&[
        "cert",
        "--out",
        certs.to_str().unwrap(),
        "--internal",
        &internal,
        "--external",
        &external,
    ]);
    assert_status(&made, 0);
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let trusted = dcosreg(&[
        "--root",
        root.to_str().unwrap(),
        "--timeout",
        "500ms",
        "--internal",
        &internal,
        "--external",
        &external,
        "trust",
        "--ca-file",
        certs.join("ca.crt").to_str().unwrap(),
        "--yes",
        "--target",
        "docker",
    ]);
    assert!(
        trusted.status.code() != Some(2),
        "trust: {}",
        stderr(&trusted)
    );
    let installed = |host_path: &str| root.join(host_path.trim_start_matches('/'));

    let kaniko = snippet_json("kaniko", &internal, &external);
    let calls = docker_invocations(&sections(&kaniko, "shell")[0].1);
    let args = &calls[0];
    let mount = flag_values(args, "-v")
        .into_iter()
        .find(|m| m.starts_with(CERTS_D))
        .expect("certs.d mount");
    let (host_dir, rest) = mount.split_once(':').unwrap();
    let inside_dir = rest.trim_end_matches(":ro");
    let mut names = BTreeSet::new();
    for value in flag_values(args, "--registry-certificate") {
        let (name, path) = value.split_once('=').expect("NAME=PATH");
        names.insert(name.to_string());
        let on_host = path.replacen(inside_dir, host_dir, 1);
        assert!(
            installed(&on_host).is_file(),
            "kaniko names {on_host}, which trust did not install"
        );
    }
    assert_eq!(names, expected_names);
    assert!(flag_values(args, "--destination")[0].starts_with(&format!("{internal}/")));

    let buildx = snippet_json("buildx", &internal, &external);
    let (title, text) = &sections(&buildx, "toml")[0];
    let config = toml_value(text);
    let registries = config["registry"].as_object().expect("[registry.*] tables");
    let names: BTreeSet<String> = registries.keys().cloned().collect();
    assert_eq!(names, expected_names);
    for (name, table) in registries {
        let ca = table["ca"][0].as_str().unwrap();
        assert!(
            installed(ca).is_file(),
            "{name}: {ca} was not installed by trust"
        );
        assert!(Path::new(ca).starts_with(CERTS_D));
    }
    let calls = docker_invocations(&sections(&buildx, "shell")[0].1);
    let create = calls
        .iter()
        .find(|c| c[..2] == ["buildx", "create"])
        .expect("buildx create");
    assert_eq!(
        flag_values(create, "--buildkitd-config"),
        vec![title.as_str()]
    );
    assert_eq!(flag_values(create, "--driver"), vec!["docker-container"]);
}

/// The generated REGISTRY_HTTP_SECRET differs on every run: compare without it.
fn mask_secret(text: &str) -> String {
    match text.find("CHANGE-ME-") {
        Some(at) => {
            let end = text[at..].find('"').map_or(text.len(), |n| at + n);
            format!("{}CHANGE-ME-*{}", &text[..at], &text[end..])
        }
        None => text.to_string(),
    }
}

#[test]
fn text_sections_match_json_and_list_covers_every_kind() {
    let list = dcosreg(&["snippet", "--list"]);
    assert_status(&list, 0);
    let listed: Vec<String> = stdout(&list)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(listed, KINDS);
    let json = dcosreg(&["--format", "json", "snippet", "--list"]);
    let value: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(value["kinds"].as_array().unwrap().len(), KINDS.len());

    for kind in KINDS {
        let snippet = snippet_json(kind, "192.168.0.1", "192.168.1.50:5000");
        let text = stdout(&dcosreg(&["snippet", kind]));
        let parts = snippet["sections"].as_array().unwrap();
        if parts.len() == 1 {
            let content = parts[0]["content"].as_str().unwrap();
            assert_eq!(mask_secret(&text), mask_secret(content), "{kind}");
        } else {
            for part in parts {
                let header = format!(
                    "# --- [{}] {} ({}) ---\n",
                    part["id"].as_str().unwrap(),
                    part["title"].as_str().unwrap(),
                    part["format"].as_str().unwrap()
                );
                let at = text
                    .find(&header)
                    .unwrap_or_else(|| panic!("{kind}: no {header}"));
                assert!(text[at + header.len()..].starts_with(part["content"].as_str().unwrap()));
            }
        }
    }
}

/// A kind is any case, as `--target` is: `snippet MARATHON app` is `snippet marathon app`.
#[test]
fn a_kind_in_another_case_is_the_same_kind() {
    let lower = dcosreg(&["snippet", "marathon", "app"]);
    let upper = dcosreg(&["snippet", "MARATHON", "app"]);
    assert_status(&lower, 0);
    assert_status(&upper, 0);
    let id = |out: &std::process::Output| json_id(&stdout(out));
    assert_eq!(id(&upper), id(&lower), "{}", stderr(&upper));
}

fn json_id(text: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(text).expect("the app is JSON");
    value["id"].as_str().unwrap_or_default().to_string()
}

#[test]
fn an_unknown_kind_lists_the_kinds() {
    let out = dcosreg(&["snippet", "kubernetes-operator"]);
    assert_status(&out, 2);
    let message = stderr(&out);
    assert_eq!(message.lines().count(), 1, "{message}");
    for kind in KINDS {
        assert!(message.contains(kind), "{message}");
    }
    assert!(stdout(&out).is_empty());
}

/// The Marathon app run for real, as far as one machine can: `docker-registry` started with
/// the app's env, its container paths mapped through the app's volumes onto the files
/// `cert` wrote (standing in for /etc/privateregistry/certs), listening on the VIP and on
/// the service port; skopeo with only the CA must accept both.
#[test]
fn marathon_app_serves_the_cert_files_on_both_endpoints() {
    let vip_ip = unique_loopback_ip();
    let lb_ip = unique_loopback_ip();
    let external = format!("{lb_ip}:{}", free_port(&lb_ip));
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("privateregistry-certs");
    let made = dcosreg(&[
        "cert",
        "--out",
        certs.to_str().unwrap(),
        "--internal",
        &vip_ip,
        "--external",
        &external,
    ]);
    assert_status(&made, 0);
    let (app, _) = marathon_app(&vip_ip, &external);

    let volumes = app["container"]["volumes"].as_array().unwrap();
    let host_for = |inside: &str| -> String {
        for volume in volumes {
            let container_path = volume["containerPath"]
                .as_str()
                .unwrap()
                .trim_end_matches('/');
            if let Some(rest) = inside.strip_prefix(&format!("{container_path}/")) {
                assert_eq!(volume["hostPath"], "/etc/privateregistry/certs", "{inside}");
                return certs.join(rest).to_str().unwrap().to_string();
            }
        }
        panic!("{inside} is on no volume of the app");
    };
    let env: Vec<(String, String)> = app["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, value)| {
            let value = value.as_str().unwrap();
            let mapped = if key.starts_with("REGISTRY_HTTP_TLS_") {
                host_for(value)
            } else {
                value.to_string()
            };
            (key.clone(), mapped)
        })
        .collect();
    assert_eq!(
        env.iter()
            .filter(|(k, _)| k.starts_with("REGISTRY_HTTP_TLS_"))
            .count(),
        2
    );

    let mapping = &app["container"]["docker"]["portMappings"][0];
    let vip = mapping["labels"]["VIP_0"].as_str().unwrap().to_string();
    let service = format!("{lb_ip}:{}", mapping["servicePort"]);
    assert_eq!(service, external);
    let registry = require_tool("docker-registry");
    let mut children = Children(Vec::new());
    for addr in [&vip, &service] {
        let data = dir.path().join(format!("data-{addr}"));
        // No tls: section: TLS comes from the app's env, as in the container.
        let config = dir.path().join(format!("config-{addr}.yml"));
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: \"{addr}\"\n",
                data.display()
            ),
        )
        .unwrap();
        let mut child = Command::new(&registry)
            .arg("serve")
            .arg(&config)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        wait_for_listener(addr, std::time::Duration::from_secs(10), &mut child);
        children.0.push(child);
    }
    let trust = tempfile::tempdir().unwrap();
    std::fs::copy(certs.join("ca.crt"), trust.path().join("ca.crt")).unwrap();
    // The VIP is written ip:443; clients name it without the port, as the guide does.
    for endpoint in [vip_ip.clone(), external.clone()] {
        let (accepted, message) = skopeo_verdict(&endpoint, trust.path());
        assert!(accepted, "{endpoint}: {message}");
    }
    drop(children);
}

/// Registries started by hand, stopped even when an assertion fails.
struct Children(Vec<std::process::Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn dcos_credentials_fetch_pull_config_and_cluster_config_name_every_spelling() {
    let snippet = snippet_json("dcos-credentials", "10.9.0.1", "10.9.1.50:5000");
    let apps = sections(&snippet, "json");
    assert_eq!(apps.len(), 2);
    let docker_app: Value = serde_json::from_str(&apps[0].1).expect("JSON");
    assert_eq!(docker_app["container"]["type"], "DOCKER");
    assert_eq!(docker_app["fetch"][0]["uri"], "file:///etc/docker.tar.gz");
    assert_eq!(docker_app["fetch"][0]["extract"], true);
    assert_eq!(
        docker_app["container"]["docker"]["image"],
        "10.9.0.1/my-app:1"
    );
    let ucr_app: Value = serde_json::from_str(&apps[1].1).expect("JSON");
    assert_eq!(ucr_app["container"]["type"], "MESOS");
    let secret = ucr_app["container"]["docker"]["pullConfig"]["secret"]
        .as_str()
        .unwrap();
    assert!(ucr_app["secrets"][secret]["source"].is_string());
    let cluster = yaml(&sections(&snippet, "yaml")[0].1);
    for name in ["10.9.0.1", "10.9.0.1:443", "10.9.1.50:5000"] {
        assert!(
            cluster["cluster_docker_credentials"]["auths"][name]["auth"].is_string(),
            "{name}: {cluster}"
        );
    }
    let ship = &sections(&snippet, "shell")[0].1;
    assert!(ship.contains("credentials export --as dcos-archive"));
    assert!(ship.contains("rollout --credentials-archive"));
}

/// The `docker` calls of `script` (run by bash with `docker` a function, see
/// [`docker_invocations`]), with `env` set.
fn docker_invocations_with(script: &str, env: &[(&str, &str)]) -> Vec<Vec<String>> {
    let exports: String = env
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", shell_single(v)))
        .collect();
    docker_invocations(&format!("{exports}{script}"))
}

fn shell_single(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `docker login --username alice --password-stdin NAME`, one per spelling, in order.
fn logins(names: &[&str]) -> Vec<Vec<String>> {
    names
        .iter()
        .map(|name| {
            ["login", "--username", "alice", "--password-stdin", name]
                .map(String::from)
                .to_vec()
        })
        .collect()
}

/// Issue 30: the CI jobs log in the way each CI system does it. GitLab: masked variables,
/// `docker login --password-stdin` for every spelling in the job's `before_script`,
/// `docker:dind` with GitLab's TLS variables and `/certs/client` shared through
/// config.toml, `DOCKER_AUTH_CONFIG` (auths for every spelling) for the runner's own pulls,
/// and no credential helper (docker:cli is musl). Jenkins: `withCredentials` around the one
/// `sh` step that logs in every spelling; the helper's config.json only for the agent image
/// that installs it from the release tarball, configured for the endpoints.
#[test]
fn jenkins_and_gitlab_jobs_log_in_every_spelling_their_ci_s_way() {
    let names = ["10.9.0.1", "10.9.0.1:443", "10.9.1.50:5000"];

    let gitlab = snippet_json("gitlab-runner", "10.9.0.1", "10.9.1.50:5000");
    let all: String = gitlab["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["content"].as_str().unwrap())
        .collect();
    assert!(
        !all.contains("credHelpers") && !all.contains("\"dcosreg\""),
        "{all}"
    );
    let config = toml_value(&sections(&gitlab, "toml")[0].1);
    let volumes = config["runners"][0]["docker"]["volumes"]
        .as_array()
        .unwrap();
    assert!(volumes.iter().any(|v| v == "/certs/client"), "{volumes:?}");
    let auth: Value = serde_json::from_str(&sections(&gitlab, "json")[0].1).expect("JSON");
    let keys: Vec<&String> = auth["auths"].as_object().unwrap().keys().collect();
    assert_eq!(keys, names, "DOCKER_AUTH_CONFIG names every spelling");
    let job = yaml(&sections(&gitlab, "yaml")[0].1);
    let build = &job["build"];
    assert_eq!(build["image"], "docker:cli");
    assert_eq!(build["services"][0], "docker:dind");
    let variables = &build["variables"];
    assert_eq!(variables["DOCKER_TLS_CERTDIR"], "/certs");
    assert_eq!(variables["DOCKER_HOST"], "tcp://docker:2376");
    assert_eq!(variables["DOCKER_TLS_VERIFY"], 1);
    assert_eq!(variables["DOCKER_CERT_PATH"], "/certs/client");
    let before: Vec<&str> = build["before_script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let env = [("REGISTRY_USER", "alice"), ("REGISTRY_PASSWORD", "pw")];
    assert_eq!(
        docker_invocations_with(&before.join("\n"), &env),
        logins(&names)
    );
    assert!(before
        .iter()
        .all(|l| l.starts_with("printf '%s' \"$REGISTRY_PASSWORD\" | docker login ")));

    let jenkins = snippet_json("jenkins", "10.9.0.1", "10.9.1.50:5000");
    let helpers: Value = serde_json::from_str(&sections(&jenkins, "json")[0].1).expect("JSON");
    for name in names {
        assert_eq!(helpers["credHelpers"][name], "dcosreg");
    }
    let agent = &sections(&jenkins, "shell")[0].1;
    let version = env!("CARGO_PKG_VERSION");
    for line in [
        "FROM jenkins/inbound-agent\n".to_string(),
        "COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker\n".to_string(),
        format!("ADD docker-dcosreg-{version}-x86_64-linux-gnu.tar.gz /opt/\n"),
        format!("ENV PATH=/opt/docker-dcosreg-{version}-x86_64-linux-gnu:$PATH"),
        "DCOSREG_INTERNAL=10.9.0.1:443 DCOSREG_EXTERNAL=10.9.1.50:5000\n".to_string(),
    ] {
        assert!(agent.contains(&line), "{line:?} not in\n{agent}");
    }
    let (_, text) = &sections(&jenkins, "groovy")[0];
    let file = support::jenkinsfile::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(file.argument("credentialsId"), Some("dcos-registry"));
    let user = file.argument("usernameVariable").expect("usernameVariable");
    let password = file.argument("passwordVariable").expect("passwordVariable");
    let inside: Vec<_> = file
        .steps
        .iter()
        .filter(|s| s.inside("withCredentials"))
        .collect();
    assert_eq!(inside.len(), 1, "{text}");
    let env = [(user, "alice"), (password, "pw")];
    assert_eq!(
        docker_invocations_with(&inside[0].script, &env),
        logins(&names)
    );
    for step in file.steps.iter().filter(|s| !s.inside("withCredentials")) {
        assert!(
            !step.script.contains(password),
            "the secret outside withCredentials: {}",
            step.script
        );
    }
}

/// The reader the Jenkinsfile tests use: steps with their blocks, environment, named
/// arguments, Groovy escapes; broken files are errors.
#[test]
fn the_jenkinsfile_reader_finds_steps_and_rejects_broken_files() {
    use support::jenkinsfile::parse;
    let file = parse(concat!(
        "// c\npipeline {\n  environment {\n    A = 'x'\n    B = \"${env.W}/y\"\n  }\n",
        "  stages { stage('s') { steps {\n",
        "    withCredentials([usernamePassword(credentialsId: 'id',\n",
        "      usernameVariable: 'U')]) {\n",
        "      sh '''\n echo \"$U\" 'q'\n'''\n    }\n",
        "    sh 'a \\'b\\''\n  } } }\n}\n",
    ))
    .unwrap();
    assert_eq!(file.steps.len(), 2);
    assert!(file.steps[0].inside("withCredentials"));
    assert!(!file.steps[1].inside("withCredentials"));
    assert_eq!(file.steps[0].script, "\n echo \"$U\" 'q'\n");
    assert_eq!(file.steps[1].script, "a 'b'");
    assert_eq!(file.argument("usernameVariable"), Some("U"));
    let env = file.resolved_environment(&[("W".into(), "/w".into())]);
    assert_eq!(
        env,
        [
            ("A".to_string(), "x".to_string()),
            ("B".to_string(), "/w/y".to_string())
        ]
    );
    assert!(parse("pipeline { stages {").is_err());
    assert!(parse("sh 'x").is_err());
    assert!(parse("a(]").is_err());
    assert!(parse("/* open").is_err());
}

/// `snippet expiry`: the shell sections parse, they run `check --textfile` for the
/// configured endpoints, Prometheus's own `promtool check rules` accepts the alerting rules,
/// and every metric the rules use is one `check --format prometheus` prints.
#[test]
fn expiry_snippet_runs_and_its_rules_pass_promtool() {
    let snippet = snippet_json("expiry", "192.168.0.1", "192.168.1.50:5000");
    let shells = sections(&snippet, "shell");
    assert_eq!(shells.len(), 2, "{snippet}");
    for (title, script) in &shells {
        let out = Command::new("bash")
            .args(["-n", "-c", script])
            .output()
            .expect("bash -n");
        assert_status_for(&out, 0, format_args!("bash -n {title}"));
    }
    let (_, systemd) = &shells[0];
    assert!(systemd.contains("check --textfile /var/lib/prometheus/node-exporter/dcosreg.prom"));
    assert!(systemd.contains("--internal 192.168.0.1 --external 192.168.1.50:5000"));
    // The rules, through promtool.
    let rules = sections(&snippet, "yaml");
    assert_eq!(rules.len(), 1);
    yaml(&rules[0].1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dcosreg.rules.yml");
    std::fs::write(&file, &rules[0].1).unwrap();
    let out = Command::new(require_tool("promtool"))
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .expect("promtool check rules");
    assert_status_for(&out, 0, "promtool check rules");
    assert!(
        stdout(&out).contains("SUCCESS: 2 rules found"),
        "{}",
        stdout(&out)
    );
    // Every metric the rules use is one `check --format prometheus` prints.
    let metrics = dcosreg(&[
        "--internal",
        "127.0.0.1:1",
        "--external",
        "127.0.0.1:2",
        "--timeout",
        "1s",
        "--format",
        "prometheus",
        "check",
    ]);
    let printed = stdout(&metrics);
    for name in [
        "dcosreg_endpoint_earliest_expiry_timestamp_seconds",
        "dcosreg_endpoint_up",
        "dcosreg_endpoint_trusted",
    ] {
        assert!(rules[0].1.contains(name));
        assert!(
            printed.contains(&format!("# TYPE {name} gauge")),
            "{printed}"
        );
    }
}

/// `snippet KIND ID` prints exactly one document, which its own format's parser reads
/// (bash -n, YAML, TOML, JSON), with nothing else on stdout; `snippet KIND --list` lists
/// every id; an unknown id names the ones that exist.
#[test]
fn every_section_alone_parses_in_its_format() {
    for kind in KINDS {
        let snippet = snippet_json(kind, "192.168.0.1", "192.168.1.50:5000");
        let list = dcosreg(&[
            "--internal",
            "192.168.0.1",
            "--external",
            "192.168.1.50:5000",
            "snippet",
            kind,
            "--list",
        ]);
        assert_status(&list, 0);
        let listed: Vec<String> = stdout(&list)
            .lines()
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        let sections = snippet["sections"].as_array().unwrap();
        assert_eq!(listed.len(), sections.len(), "{kind}");
        for section in sections {
            let id = section["id"].as_str().expect("every section has an id");
            assert!(listed.iter().any(|l| l == id), "{kind} --list lacks {id}");
            let out = dcosreg(&[
                "--internal",
                "192.168.0.1",
                "--external",
                "192.168.1.50:5000",
                "snippet",
                kind,
                id,
            ]);
            assert_status_for(&out, 0, format_args!("snippet {kind} {id}"));
            let text = stdout(&out);
            assert_eq!(
                mask_secret(&text),
                mask_secret(section["content"].as_str().unwrap()),
                "{kind} {id}"
            );
            match section["format"].as_str().unwrap() {
                "shell" => {
                    let check = Command::new("bash")
                        .args(["-n", "-c", &text])
                        .output()
                        .expect("bash -n");
                    assert_status_for(&check, 0, format_args!("bash -n: snippet {kind} {id}"));
                }
                "yaml" => {
                    yaml(&text);
                }
                "toml" => {
                    text.parse::<toml::Table>()
                        .unwrap_or_else(|e| panic!("snippet {kind} {id}: not TOML ({e}):\n{text}"));
                }
                "json" => {
                    serde_json::from_str::<Value>(&text)
                        .unwrap_or_else(|e| panic!("snippet {kind} {id}: not JSON ({e}):\n{text}"));
                }
                "groovy" => {
                    let file = support::jenkinsfile::parse(&text).unwrap_or_else(|e| {
                        panic!("snippet {kind} {id}: not a Jenkinsfile ({e}):\n{text}")
                    });
                    assert!(!file.steps.is_empty(), "snippet {kind} {id}: no sh step");
                    for step in &file.steps {
                        let check = Command::new("bash")
                            .args(["-n", "-c", &step.script])
                            .output()
                            .expect("bash -n");
                        assert_status_for(
                            &check,
                            0,
                            format_args!("bash -n: snippet {kind} {id}: {}", step.script),
                        );
                    }
                }
                other => panic!("snippet {kind} {id}: unknown format {other}"),
            }
        }
    }
    let out = dcosreg(&["snippet", "gitlab-runner", "nope"]);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("config") && stderr(&out).contains("ci-job"));
}
