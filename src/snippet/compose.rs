//! `snippet compose`: a Compose service (a DinD daemon) with the host's certs.d mounted.

use super::{quote, Context, Language, Section, Snippet, DOCKER_CERTS_D};

pub(super) fn build(context: &Context) -> Snippet {
    let compose = format!(
        r#"# compose.yaml
services:
  dind:
    image: docker:dind
    privileged: true
    environment:
      DOCKER_TLS_CERTDIR: ""
      REGISTRY: {registry}
    volumes:
      - type: bind
        source: {certs_d}
        target: {certs_d}
        read_only: true
"#,
        registry = quote(&context.internal.reference_host()),
        certs_d = quote(DOCKER_CERTS_D),
    );
    Snippet {
        kind: "compose",
        sections: vec![Section {
            id: "service",
            title: "Docker Compose service".into(),
            format: Language::Yaml,
            content: compose,
        }],
        notes: vec![],
    }
}
