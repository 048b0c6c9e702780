//! `snippet gitlab-runner`: GitLab Runner's docker executor mounts `[runners.docker]
//! volumes` into the job container and into its services, so a `docker:dind` service's
//! daemon sees the host's certs.d, and the job sees the service's TLS client certificates
//! in `/certs/client` (GitLab's documented Docker-in-Docker TLS set-up).
//!
//! The job image is `docker:cli`: Alpine (musl), where this tool's glibc build does not run,
//! so the job logs in with `docker login --password-stdin` from masked CI/CD variables, once
//! for every spelling of both endpoints; the runner's own pulls (a job image or a service
//! from this registry) take `DOCKER_AUTH_CONFIG`.

use super::{quote, shell_quote, Context, Language, Section, Snippet, DOCKER_CERTS_D};

/// Where the `docker:dind` service writes its TLS files (`DOCKER_TLS_CERTDIR`), and the
/// client half the job reads, shared through the runner's volumes.
const TLS_CERTDIR: &str = "/certs";
const TLS_CLIENT_DIR: &str = "/certs/client";

pub(super) fn build(context: &Context) -> Snippet {
    Snippet {
        kind: "gitlab-runner",
        sections: vec![
            Section {
                id: "config",
                title: "GitLab Runner config.toml".into(),
                format: Language::Toml,
                content: runner_config(context),
            },
            Section {
                id: "job-config",
                title: "DOCKER_AUTH_CONFIG for the runner's own pulls (a job image or service from the registry): auth is base64 of USER:PASSWORD".into(),
                format: Language::Json,
                content: auth_config(context),
            },
            Section {
                id: "ci-job",
                title: ".gitlab-ci.yml: masked CI/CD variables, docker login --password-stdin for every spelling, docker:dind with TLS".into(),
                format: Language::Yaml,
                content: ci_job(context),
            },
        ],
        notes: vec![
            "restart is not needed: the runner reloads config.toml".into(),
            "images: the job runs in docker:cli (Alpine: sh and the docker CLI, nothing of this tool), the pulls happen in the docker:dind service".into(),
            "DOCKER_AUTH_CONFIG with the login filled in: `docker dcosreg credentials export --as docker-config` after `docker dcosreg login`; JSON cannot be masked, so make it a protected variable or put it in config.toml's environment".into(),
        ],
    }
}

/// The runner's config.toml: the dind TLS client directory and the host's certs.d shared.
fn runner_config(context: &Context) -> String {
    format!(
        r#"# Merge into /etc/gitlab-runner/config.toml (keep your runner's url and token). The volumes
# are mounted into the job and into its services: {TLS_CLIENT_DIR} carries the docker:dind
# service's TLS client certificates to the job, certs.d the registry's CA to its daemon.
[[runners]]
  name = "dcos-docker"
  executor = "docker"
  environment = [{registry_env}]
  [runners.docker]
    image = "docker:cli"
    privileged = true
    volumes = [{client}, {volume}, "/cache"]
"#,
        registry_env = quote(&format!("REGISTRY={}", context.internal.reference_host())),
        client = quote(TLS_CLIENT_DIR),
        volume = quote(&format!("{DOCKER_CERTS_D}:{DOCKER_CERTS_D}:ro")),
    )
}

/// `DOCKER_AUTH_CONFIG` for every spelling, with a placeholder for the login.
fn auth_config(context: &Context) -> String {
    let auths: Vec<String> = context
        .registry_names()
        .into_iter()
        .map(|(name, _)| {
            format!(
                "    {}: {{ \"auth\": \"BASE64(USER:PASSWORD)\" }}",
                quote(&name)
            )
        })
        .collect();
    let auth_config = format!("{{\n  \"auths\": {{\n{}\n  }}\n}}\n", auths.join(",\n"));
    auth_config
}

/// The `.gitlab-ci.yml` job: dind with TLS, `docker login --password-stdin` per spelling.
fn ci_job(context: &Context) -> String {
    let mut job = format!(
        "# .gitlab-ci.yml. REGISTRY_USER and REGISTRY_PASSWORD are masked CI/CD variables\n\
         # (Settings > CI/CD > Variables). The job image docker:cli (Alpine, musl) has the sh and\n\
         # the docker CLI this script runs; docker-credential-dcosreg, a glibc build, does not run\n\
         # there, so the job logs in with docker login, once for every spelling of both endpoints\n\
         # (Docker looks credentials up by the name an image reference uses). The docker:dind\n\
         # service pulls, with the CA from the certs.d config.toml mounts. A job image or service\n\
         # from this registry is the runner's own pull: give it DOCKER_AUTH_CONFIG (job-config).\n\
         build:\n  image: docker:cli\n  services:\n    - docker:dind\n  variables:\n\
         \x20   # GitLab's dind TLS set-up: the service writes its client certificates to\n\
         \x20   # {TLS_CLIENT_DIR}, which config.toml shares with the job.\n\
         \x20   DOCKER_TLS_CERTDIR: {certdir}\n\
         \x20   DOCKER_HOST: \"tcp://docker:2376\"\n\
         \x20   DOCKER_TLS_VERIFY: 1\n\
         \x20   DOCKER_CERT_PATH: {client}\n\
         \x20 before_script:\n",
        certdir = quote(TLS_CERTDIR),
        client = quote(TLS_CLIENT_DIR),
    );
    for (name, _) in context.registry_names() {
        job.push_str(&yaml_item(&format!(
            "printf '%s' \"$REGISTRY_PASSWORD\" | docker login --username \"$REGISTRY_USER\" --password-stdin {}",
            shell_quote(&name)
        )));
    }
    job.push_str("  script:\n");
    job.push_str(&yaml_item("docker pull \"$REGISTRY/my-app:1\""));
    job
}

/// One item of a YAML block sequence, four spaces in: plain when YAML reads it back as the
/// same string, else double-quoted.
fn yaml_item(line: &str) -> String {
    let plain = !line.contains(": ")
        && !line.contains(" #")
        && !line.ends_with(':')
        && !line.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c));
    if plain {
        format!("    - {line}\n")
    } else {
        format!("    - {}\n", quote(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_items_quote_only_what_yaml_would_misread() {
        assert_eq!(yaml_item("docker pull x:1"), "    - docker pull x:1\n");
        assert_eq!(yaml_item("echo a: b"), "    - \"echo a: b\"\n");
        assert_eq!(
            yaml_item("'[fd00::1]:5000'"),
            "    - \"'[fd00::1]:5000'\"\n"
        );
    }
}
