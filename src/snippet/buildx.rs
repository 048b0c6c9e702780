//! `snippet buildx`: a `docker-container` builder runs its own BuildKit, which ignores the
//! host's certs.d; its buildkitd.toml names a CA per registry (`[registry."HOST"] ca = [..]`)
//! and `docker buildx create` copies those files into the builder.

use super::{quote, shell_quote, Context, Language, Section, Snippet};

pub(super) fn build(context: &Context) -> Snippet {
    let mut toml =
        String::from("# buildkitd.toml: the CA for each name the registry is reached by.\n");
    for (name, ca_file) in context.registry_names() {
        toml.push_str(&format!(
            "\n[registry.{}]\n  ca = [{}]\n",
            quote(&name),
            quote(&ca_file)
        ));
    }
    let create = format!(
        "# buildx before 0.13 calls --buildkitd-config --config.\n\
         docker buildx create --name dcosreg --driver docker-container --buildkitd-config buildkitd.toml --use\n\
         docker buildx build --push -t {} .\n",
        shell_quote(&format!("{}/team/app:latest", context.internal.reference_host()))
    );
    Snippet {
        kind: "buildx",
        sections: vec![
            Section {
                id: "buildkitd-toml",
                title: "buildkitd.toml".into(),
                format: Language::Toml,
                content: toml,
            },
            Section {
                id: "create",
                title: "create the builder".into(),
                format: Language::Shell,
                content: create,
            },
        ],
        notes: vec![
            "buildx copies the CA files when the builder is created: after a new CA, run `docker buildx rm dcosreg` and create it again".into(),
        ],
    }
}
