//! Ready-to-paste configuration that gives a container, CI runner or builder the
//! registry's trust: the guide's one sentence ("mount /etc/docker/certs.d into DinD and
//! Jenkins") turned into working snippets, one file per kind.
//!
//! Every snippet is derived from the configured endpoints and from the paths `trust`
//! installs: `/etc/docker/certs.d/<host[:port]>/ca.crt` on each agent. The paths are the
//! agents' real paths, never prefixed with `--root`: a snippet runs on another machine.
//! Interpolated values are written with [`quote`] (a JSON string, which is also a valid
//! YAML double-quoted scalar and TOML basic string) or [`shell_quote`].

mod buildx;
mod compose;
pub(crate) mod dcos_credentials;
mod dind;
mod expiry;
mod gitlab_runner;
mod jenkins;
mod kaniko;
mod marathon;

use serde::Serialize;

use crate::endpoint::Endpoint;

/// Where `trust` installs each endpoint's CA for Docker on a host (the docker store's path).
pub(crate) const DOCKER_CERTS_D: &str = crate::trust::DOCKER_CERTS_D;
/// The guide's directory for the registry's own certificate and key on its agent.
pub(crate) const REGISTRY_CERT_DIR: &str = "/etc/privateregistry/certs";
/// Where the registry container sees [`REGISTRY_CERT_DIR`].
pub(crate) const CONTAINER_CERT_DIR: &str = "/certs";

/// The language a section is written in (and parsed with in the tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Language {
    Shell,
    Yaml,
    Toml,
    Json,
    /// A Jenkinsfile (declarative pipeline).
    Groovy,
}

/// One paste-able block.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Section {
    /// Short and stable: `snippet KIND ID` prints this section alone.
    pub(crate) id: &'static str,
    pub(crate) title: String,
    pub(crate) format: Language,
    pub(crate) content: String,
}

/// What `snippet KIND` prints: sections, and notes for the person pasting them.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Snippet {
    pub(crate) kind: &'static str,
    pub(crate) sections: Vec<Section>,
    pub(crate) notes: Vec<String>,
}

/// The inputs every snippet is derived from.
pub(crate) struct Context {
    pub(crate) internal: Endpoint,
    pub(crate) external: Endpoint,
}

impl Context {
    pub(crate) fn endpoints(&self) -> Vec<&Endpoint> {
        let mut all = vec![&self.internal];
        if self.external != self.internal {
            all.push(&self.external);
        }
        all
    }

    /// The CA file `trust` installs for `endpoint` on a host (its first certs.d name).
    pub(crate) fn ca_file(endpoint: &Endpoint) -> String {
        let names = endpoint.certs_d_names();
        let dir = names
            .first()
            .cloned()
            .unwrap_or_else(|| endpoint.host_port());
        crate::trust::docker_ca_file(&dir)
    }

    /// Every registry name a client may use for each endpoint, with its CA file:
    /// a 443 endpoint is named with and without the port.
    pub(crate) fn registry_names(&self) -> Vec<(String, String)> {
        self.endpoints()
            .into_iter()
            .flat_map(|endpoint| {
                let ca = Self::ca_file(endpoint);
                endpoint
                    .certs_d_names()
                    .into_iter()
                    .map(move |name| (name, ca.clone()))
            })
            .collect()
    }
}

/// The config.json a CI job writes so that Docker asks `docker-credential-dcosreg` for
/// every registry name; the job's secret variables `DCOSREG_USERNAME` and
/// `DCOSREG_PASSWORD` (or `DCOSREG_PASSWORD_FILE`) then answer with nothing stored. Only
/// for an agent that has the helper: `snippet jenkins`'s agent image installs it.
pub(crate) fn cred_helpers_json(context: &Context) -> String {
    let entries: Vec<String> = context
        .registry_names()
        .into_iter()
        .map(|(name, _)| format!("    {}: \"dcosreg\"", quote(&name)))
        .collect();
    format!(
        "{{\n  \"credHelpers\": {{\n{}\n  }}\n}}\n",
        entries.join(",\n")
    )
}

/// One kind of snippet: its name, what it is for, how it is made.
#[derive(Debug)]
pub(crate) struct Kind {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    build: fn(&Context) -> Snippet,
}

impl Kind {
    pub(crate) fn build(&self, context: &Context) -> Snippet {
        (self.build)(context)
    }
}

pub(crate) const KINDS: &[Kind] = &[
    Kind {
        name: "dind",
        description: "Docker-in-Docker: docker run flags and a Kubernetes sidecar volume",
        build: dind::build,
    },
    Kind {
        name: "jenkins",
        description:
            "Jenkins: agent image with the docker CLI, Mesos plugin (JCasC), Kubernetes pod template, Jenkinsfile login",
        build: jenkins::build,
    },
    Kind {
        name: "gitlab-runner",
        description:
            "GitLab Runner config.toml volumes, .gitlab-ci.yml login and TLS docker:dind, DOCKER_AUTH_CONFIG",
        build: gitlab_runner::build,
    },
    Kind {
        name: "compose",
        description: "Docker Compose service with the certs.d mount",
        build: compose::build,
    },
    Kind {
        name: "marathon",
        description: "the registry's Marathon app (the guide's, corrected)",
        build: marathon::build,
    },
    Kind {
        name: "kaniko",
        description: "kaniko executor with --registry-certificate per endpoint",
        build: kaniko::build,
    },
    Kind {
        name: "buildx",
        description: "buildkitd.toml with the CA per registry, and the buildx create command",
        build: buildx::build,
    },
    Kind {
        name: "dcos-credentials",
        description:
            "DC/OS agents' registry login: fetched archive, UCR pullConfig, cluster config",
        build: dcos_credentials::build,
    },
    Kind {
        name: "expiry",
        description:
            "expiry watch: systemd timer or cron for node_exporter, Prometheus alert rules",
        build: expiry::build,
    },
];

pub(crate) fn find(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|kind| kind.name == name)
}

/// A string as a double-quoted JSON string: also valid YAML and TOML.
pub(crate) fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

pub(crate) use crate::text::shell_quote;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_leaves_plain_words_and_wraps_the_rest() {
        assert_eq!(
            shell_quote("/etc/docker/certs.d:ro"),
            "/etc/docker/certs.d:ro"
        );
        assert_eq!(shell_quote("[fd00::1]:5000"), "'[fd00::1]:5000'");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn a_443_endpoint_has_two_names_and_one_ca_file() {
        let context = Context {
            internal: "192.168.0.1".parse().unwrap(),
            external: "192.168.1.50:5000".parse().unwrap(),
        };
        assert_eq!(
            context.registry_names(),
            vec![
                (
                    "192.168.0.1".into(),
                    "/etc/docker/certs.d/192.168.0.1/ca.crt".into()
                ),
                (
                    "192.168.0.1:443".into(),
                    "/etc/docker/certs.d/192.168.0.1/ca.crt".into()
                ),
                (
                    "192.168.1.50:5000".into(),
                    "/etc/docker/certs.d/192.168.1.50:5000/ca.crt".into()
                ),
            ]
        );
    }
}
