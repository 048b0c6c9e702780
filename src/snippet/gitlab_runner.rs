//! `snippet gitlab-runner`: GitLab Runner's docker executor mounts `[runners.docker]
//! volumes` into the job container and into its services, so a `docker:dind` service's
//! daemon sees the host's certs.d.

use super::{quote, Context, Language, Section, Snippet, DOCKER_CERTS_D};

pub(super) fn build(context: &Context) -> Snippet {
    let config = format!(
        r#"# Merge into /etc/gitlab-runner/config.toml (keep your runner's url and token).
[[runners]]
  name = "dcos-docker"
  executor = "docker"
  environment = [{registry_env}]
  [runners.docker]
    image = "docker:cli"
    privileged = true
    volumes = [{volume}, "/cache"]
"#,
        registry_env = quote(&format!("REGISTRY={}", context.internal.reference_host())),
        volume = quote(&format!("{DOCKER_CERTS_D}:{DOCKER_CERTS_D}:ro")),
    );
    Snippet {
        kind: "gitlab-runner",
        sections: vec![Section {
            title: "GitLab Runner config.toml".into(),
            format: Language::Toml,
            content: config,
        }],
        notes: vec![
            "restart is not needed: the runner reloads config.toml; jobs use `services: [docker:dind]` and push to $REGISTRY".into(),
        ],
    }
}
