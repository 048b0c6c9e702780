//! `snippet dind`: a Docker-in-Docker daemon verifies the registry itself, so it needs the
//! host's certs.d (the guide: "map the container's /etc/docker/certs.d to the host's").

use super::{quote, Context, Language, Section, Snippet, DOCKER_CERTS_D};

pub(super) fn build(context: &Context) -> Snippet {
    let registry = context.internal.reference_host();
    let run = format!(
        "# The daemon inside reads {DOCKER_CERTS_D}/<registry>/ca.crt like the host's daemon;\n\
         # mount the host's directory (filled by `docker dcosreg trust`) read-only.\n\
         docker run -d --privileged --name dind \\\n  \
         -v {DOCKER_CERTS_D}:{DOCKER_CERTS_D}:ro \\\n  \
         docker:dind\n\
         # then: docker exec dind docker pull {registry}/<image>\n"
    );
    let pod = format!(
        r#"# A build pod whose DinD sidecar trusts the registry through the node's certs.d.
apiVersion: v1
kind: Pod
metadata:
  name: docker-build
spec:
  containers:
    - name: build
      image: docker:cli
      command: ["sleep", "infinity"]
      env:
        - name: DOCKER_HOST
          value: "tcp://localhost:2375"
        - name: REGISTRY
          value: {registry}
    - name: dind
      image: docker:dind
      securityContext:
        privileged: true
      env:
        - name: DOCKER_TLS_CERTDIR
          value: ""
      volumeMounts:
        - name: registry-certs
          mountPath: {certs_d}
          readOnly: true
  volumes:
    - name: registry-certs
      hostPath:
        path: {certs_d}
        type: Directory
"#,
        registry = quote(&registry),
        certs_d = quote(DOCKER_CERTS_D),
    );
    Snippet {
        kind: "dind",
        sections: vec![
            Section {
                id: "docker-run",
                title: "docker run: a DinD daemon that trusts the registry".into(),
                format: Language::Shell,
                content: run,
            },
            Section {
                id: "kubernetes",
                title: "Kubernetes: DinD sidecar with the certs.d volume".into(),
                format: Language::Yaml,
                content: pod,
            },
        ],
        notes: vec![format!(
            "the host must hold the CA first: `docker dcosreg trust` (or `rollout` on every agent) installs {}",
            context
                .endpoints()
                .iter()
                .map(|endpoint| Context::ca_file(endpoint))
                .collect::<Vec<_>>()
                .join(" and ")
        )],
    }
}
