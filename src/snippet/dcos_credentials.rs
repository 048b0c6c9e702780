//! `snippet dcos-credentials`: DC/OS agents cannot run a credential helper ("does not support
//! external credential stores or credential helpers", DC/OS docs), so they get the login as
//! data: the tarred `.docker/config.json` a Marathon app fetches from
//! `file:///etc/docker.tar.gz` (Docker containerizer), a `pullConfig` secret (UCR), or the
//! cluster-wide `cluster_docker_credentials` of the DC/OS config. The files come from
//! `credentials export`; `rollout --credentials-archive` puts the archive on every agent.

use super::{quote, Context, Language, Section, Snippet};

/// Where `rollout --credentials-archive` installs the archive on every agent.
pub(crate) const AGENT_ARCHIVE: &str = "/etc/docker.tar.gz";

pub(super) fn build(context: &Context) -> Snippet {
    let image = quote(&format!("{}/my-app:1", context.internal.reference_host()));
    Snippet {
        kind: "dcos-credentials",
        sections: vec![
            Section {
                id: "archive",
                title: "Make the archive and put it on every agent".into(),
                format: Language::Shell,
                content: ship(),
            },
            Section {
                id: "docker-fetch",
                title: "Marathon app (Docker containerizer): fetch the archive".into(),
                format: Language::Json,
                content: docker_app(&image),
            },
            Section {
                id: "ucr-pull-config",
                title: "Marathon app (UCR): pullConfig secret".into(),
                format: Language::Json,
                content: ucr_app(&image),
            },
            Section {
                id: "cluster-config",
                title: "DC/OS config.yaml: cluster_docker_credentials".into(),
                format: Language::Yaml,
                content: cluster_config(context),
            },
        ],
        notes: vec![
            format!("the Mesos fetcher unpacks {AGENT_ARCHIVE} into the task's sandbox, and the Docker containerizer reads .docker/config.json there for the pull"),
            "the archive and the secret hold the password (base64, not encrypted): keep them 0600 and rotate them with the password".into(),
        ],
    }
}

/// Make the archive and the UCR secret, and put the archive on every agent.
fn ship() -> String {
    format!(
        "# On a machine that has logged in once (docker dcosreg login):\n\
         docker dcosreg credentials export --as dcos-archive --out docker.tar.gz\n\
         # Copy it to every agent as {AGENT_ARCHIVE} (mode 0600), with the CA as before:\n\
         docker dcosreg rollout --credentials-archive docker.tar.gz --ca-file ca.crt\n\
         # For UCR (DC/OS Enterprise): the same login as a secret holding config.json.\n\
         docker dcosreg credentials export --as docker-config --out config.json\n\
         dcos security secrets create --file config.json dcosreg/pull-config\n\
         rm -f config.json\n"
    )
}

/// A Docker-containerizer app that fetches the archive.
fn docker_app(image: &str) -> String {
    format!(
        r#"{{
  "id": "/my-app",
  "instances": 1,
  "cpus": 0.1,
  "mem": 128,
  "container": {{
    "type": "DOCKER",
    "docker": {{ "image": {image}, "forcePullImage": true }}
  }},
  "fetch": [
    {{ "uri": "file://{AGENT_ARCHIVE}", "extract": true, "executable": false, "cache": false }}
  ]
}}
"#
    )
}

/// A UCR app whose pullConfig is the secret.
fn ucr_app(image: &str) -> String {
    format!(
        r#"{{
  "id": "/my-app",
  "instances": 1,
  "cpus": 0.1,
  "mem": 128,
  "container": {{
    "type": "MESOS",
    "docker": {{
      "image": {image},
      "forcePullImage": true,
      "pullConfig": {{ "secret": "pullConfigSecret" }}
    }}
  }},
  "secrets": {{
    "pullConfigSecret": {{ "source": "dcosreg/pull-config" }}
  }}
}}
"#
    )
}

/// The DC/OS config's cluster-wide credentials, for every spelling of the registry.
fn cluster_config(context: &Context) -> String {
    let mut cluster = String::from(
        "# DC/OS config.yaml (installation or upgrade): every agent's Docker daemon gets these\n\
         # credentials. AUTH is the \"auth\" value of `credentials export --as docker-config`.\n\
         cluster_docker_credentials_enabled: 'true'\n\
         cluster_docker_credentials_dcos_owned: 'true'\n\
         cluster_docker_credentials:\n  auths:\n",
    );
    for (name, _) in context.registry_names() {
        cluster.push_str(&format!("    {}:\n      auth: \"AUTH\"\n", quote(&name)));
    }
    cluster
}
