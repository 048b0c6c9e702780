//! `snippet KIND` / `snippet --list`: print ready-to-paste configuration.
//!
//! A kind with one section prints it bare on stdout (`snippet marathon > registry.json`
//! works); several sections are separated by `# --- title (format) ---` lines, a comment in
//! every language used. Notes for the person go to stderr; `--format json` prints
//! `{"kind","sections":[{"title","format","content"}],"notes"}`.

use anyhow::bail;
use serde::Serialize;

use crate::cli::SnippetArgs;
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::output::Printer;
use crate::snippet::{self, Context, KINDS};

#[derive(Serialize)]
struct KindInfo {
    name: &'static str,
    description: &'static str,
}

pub(crate) fn run(
    config: &Config,
    args: &SnippetArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let names = || KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ");
    if args.list {
        let kinds: Vec<KindInfo> = KINDS
            .iter()
            .map(|k| KindInfo {
                name: k.name,
                description: k.description,
            })
            .collect();
        printer.report(&serde_json::json!({ "kinds": kinds }), |printer| {
            let width = KINDS.iter().map(|k| k.name.len()).max().unwrap_or(0);
            for kind in KINDS {
                printer.line(format!("{:width$}  {}", kind.name, kind.description))?;
            }
            Ok(())
        })?;
        return Ok(ExitStatus::Success);
    }
    let Some(requested) = args.kind.as_deref() else {
        bail!("no snippet kind given — choose one of: {}", names());
    };
    let Some(kind) = snippet::find(requested.trim().to_ascii_lowercase().as_str()) else {
        bail!(
            "unknown snippet kind {requested:?} — choose one of: {}",
            names()
        );
    };
    let context = Context {
        internal: config.internal.value.clone(),
        external: config.external.value.clone(),
    };
    let built = kind.build(&context);
    printer.report(&built, |printer| {
        let single = built.sections.len() == 1;
        for (i, section) in built.sections.iter().enumerate() {
            if !single {
                if i > 0 {
                    printer.line("")?;
                }
                let format = serde_json::to_value(section.format).map_err(std::io::Error::other)?;
                printer.line(format!(
                    "# --- {} ({}) ---",
                    section.title,
                    format.as_str().unwrap_or_default()
                ))?;
            }
            printer.block(section.content.trim_end_matches('\n'))?;
        }
        for note in &built.notes {
            printer.note(note);
        }
        Ok(())
    })?;
    Ok(ExitStatus::Success)
}
