//! `snippet gitlab-runner`: GitLab Runner's docker executor mounts `[runners.docker]
//! volumes` into the job container and into its services, so a `docker:dind` service's
//! daemon sees the host's certs.d.

use super::{cred_helpers_json, quote, Context, Language, Section, Snippet, DOCKER_CERTS_D};

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
    let helpers = cred_helpers_json(context);
    let mut job = String::from(
        "# .gitlab-ci.yml: DCOSREG_USERNAME and DCOSREG_PASSWORD are masked CI/CD variables\n\
         # (Settings > CI/CD > Variables); the job image has docker-credential-dcosreg on PATH.\n\
         build:\n  image: docker:cli\n  services: [\"docker:dind\"]\n  before_script:\n\
         \x20   - mkdir -p \"$HOME/.docker\"\n\
         \x20   - |\n      cat > \"$HOME/.docker/config.json\" <<'JSON'\n",
    );
    for line in helpers.lines() {
        job.push_str("      ");
        job.push_str(line);
        job.push('\n');
    }
    job.push_str("      JSON\n  script:\n    - docker pull \"$REGISTRY/my-app:1\"\n");
    Snippet {
        kind: "gitlab-runner",
        sections: vec![
            Section {
                id: "config",
                title: "GitLab Runner config.toml".into(),
                format: Language::Toml,
                content: config,
            },
            Section {
                id: "job-config",
                title: "CI job credentials: the job's config.json (credHelpers)".into(),
                format: Language::Json,
                content: helpers,
            },
            Section {
                id: "ci-job",
                title: "CI job credentials: .gitlab-ci.yml with the login as CI/CD variables".into(),
                format: Language::Yaml,
                content: job,
            },
        ],
        notes: vec![
            "restart is not needed: the runner reloads config.toml; jobs use `services: [docker:dind]` and push to $REGISTRY".into(),
        ],
    }
}
