//! `snippet kaniko`: kaniko verifies registries itself; `--registry-certificate NAME=FILE`
//! adds a CA per registry name as written in image references, so a 443 endpoint gets a
//! flag for both spellings.

use super::{shell_quote, Context, Language, Section, Snippet, DOCKER_CERTS_D};

/// Where the host's certs.d appears inside the kaniko container.
const KANIKO_CERTS_D: &str = "/kaniko/certs.d";

pub(super) fn build(context: &Context) -> Snippet {
    let mut lines = vec![
        "# Build ./Dockerfile and push it; the host's certs.d holds the CA per registry."
            .to_string(),
        "docker run --rm \\".to_string(),
        "  -v \"$PWD\":/workspace \\".to_string(),
        format!("  -v {DOCKER_CERTS_D}:{KANIKO_CERTS_D}:ro \\"),
        "  gcr.io/kaniko-project/executor:latest \\".to_string(),
        "  --context dir:///workspace \\".to_string(),
        format!(
            "  --destination {} \\",
            shell_quote(&format!(
                "{}/team/app:latest",
                context.internal.reference_host()
            ))
        ),
    ];
    let names = context.registry_names();
    for (index, (name, ca_file)) in names.iter().enumerate() {
        let inside = ca_file.replacen(DOCKER_CERTS_D, KANIKO_CERTS_D, 1);
        let end = if index + 1 == names.len() { "" } else { " \\" };
        lines.push(format!(
            "  --registry-certificate {}{end}",
            shell_quote(&format!("{name}={inside}"))
        ));
    }
    let mut content = lines.join("\n");
    content.push('\n');
    Snippet {
        kind: "kaniko",
        sections: vec![Section {
            id: "executor",
            title: "kaniko executor".into(),
            format: Language::Shell,
            content,
        }],
        notes: vec![format!(
            "in Kubernetes, mount the node's {DOCKER_CERTS_D} at {KANIKO_CERTS_D} (hostPath, readOnly) and pass the same --registry-certificate args"
        )],
    }
}
