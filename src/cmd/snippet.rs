//! `snippet KIND [ID]` / `snippet [KIND] --list`: print ready-to-paste configuration.
//!
//! A kind with one section prints it bare on stdout (`snippet marathon > registry.json`
//! works); several sections are separated by `# --- [ID] title (format) ---` lines, a
//! comment in every language used. `snippet KIND ID` prints that one document exactly,
//! parseable in its format, for a redirect or a pipe. Notes for the person go to stderr,
//! after the page; `--format json` prints
//! `{"kind","sections":[{"id","title","format","content"}],"notes"}`.

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
    // clap took KIND from the table (or named the choices); without one, --list.
    let Some(kind) = args.kind else {
        return list_kinds(printer);
    };
    let context = Context {
        internal: config.internal.value.clone(),
        external: config.external.value.clone(),
    };
    let built = kind.build(&context);
    let ids = || {
        built
            .sections
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if args.list {
        return list_sections(&built, printer);
    }
    if let Some(id) = &args.id {
        let Some(section) = built.sections.iter().find(|s| s.id == id.trim()) else {
            bail!(
                "snippet {} has no section {id:?} — choose one of: {}",
                kind.name,
                ids()
            );
        };
        // Exactly the document, for `snippet KIND ID > FILE` or a pipe; in JSON, the section.
        if printer.is_json() {
            printer.json(section)?;
        } else {
            printer.raw(section.content.as_bytes())?;
            for note in &built.notes {
                printer.note(note);
            }
        }
        return Ok(ExitStatus::Success);
    }
    printer.report(&built, |printer| {
        let single = built.sections.len() == 1;
        for (i, section) in built.sections.iter().enumerate() {
            if !single {
                if i > 0 {
                    printer.line("")?;
                }
                let format = serde_json::to_value(section.format).map_err(std::io::Error::other)?;
                printer.line(format!(
                    "# --- [{}] {} ({}) ---",
                    section.id,
                    section.title,
                    format.as_str().unwrap_or_default()
                ))?;
            }
            printer.block(section.content.trim_end_matches('\n'))?;
        }
        Ok(())
    })?;
    // Notes for the person, on stderr once the page is out (in JSON they are in it).
    if !printer.is_json() {
        for note in &built.notes {
            printer.note(note);
        }
    }
    Ok(ExitStatus::Success)
}

fn list_kinds(printer: &Printer) -> anyhow::Result<ExitStatus> {
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
    Ok(ExitStatus::Success)
}

/// `snippet KIND --list`: the section ids, formats and titles.
fn list_sections(built: &snippet::Snippet, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let rows: Vec<serde_json::Value> = built
        .sections
        .iter()
        .map(|s| serde_json::json!({"id": s.id, "format": s.format, "title": s.title}))
        .collect();
    printer.report(
        &serde_json::json!({ "kind": built.kind, "sections": rows }),
        |printer| {
            let width = built.sections.iter().map(|s| s.id.len()).max().unwrap_or(0);
            for section in &built.sections {
                let format = serde_json::to_value(section.format).map_err(std::io::Error::other)?;
                printer.line(format!(
                    "{:width$}  {:5}  {}",
                    section.id,
                    format.as_str().unwrap_or_default(),
                    section.title
                ))?;
            }
            Ok(())
        },
    )?;
    Ok(ExitStatus::Success)
}
