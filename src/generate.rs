//! Man pages and shell completions, generated from the clap definitions (`crate::cli`) by the
//! binary itself, so that what `man` and TAB show is what the binary parses:
//! `docker-dcosreg __generate DIR` writes
//!
//! ```text
//! DIR/man1/docker-dcosreg.1                 the command, with every command listed
//! DIR/man1/docker-dcosreg-COMMAND[-SUB].1   one page per command (git's naming)
//! DIR/man1/docker-credential-dcosreg.1      the credential helper
//! DIR/completions/bash/docker-dcosreg       bash-completion's file name
//! DIR/completions/zsh/_docker-dcosreg       zsh's #compdef file
//! DIR/completions/fish/docker-dcosreg.fish  fish's
//! ```
//!
//! `dist.sh` runs it to ship the files in the tarball and the packages, `install.sh` to
//! install them for the user. Hidden commands (the credential-helper protocol, `__complete`)
//! get no page and no completion. Pages carry no date: the same binary gives the same bytes.

use std::path::Path;

use anyhow::Context;
use clap::builder::PossibleValue;
use clap::{Arg, Command, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::credentials;
use crate::plugin::CREDENTIAL_HELPER_NAME;

/// The program name in the pages and completions.
const NAME: &str = "docker-dcosreg";

/// Every generated file: its path under DIR and its bytes.
pub(crate) fn files() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut root = Cli::command()
        .name(NAME)
        .bin_name(NAME)
        .disable_help_subcommand(true);
    root.build();
    pages(&root, &mut out)?;
    let helper = helper_command();
    out.push((page_name(&helper), render(&helper)?));
    for (shell, path) in [
        (Shell::Bash, format!("completions/bash/{NAME}")),
        (Shell::Zsh, format!("completions/zsh/_{NAME}")),
        (Shell::Fish, format!("completions/fish/{NAME}.fish")),
    ] {
        out.push((path, completion(shell)));
    }
    Ok(out)
}

/// The completion script for `shell`. bash's is generated for `docker_dcosreg` and then
/// registered for `docker-dcosreg`: clap_complete's bash script spells a hyphenated name one
/// way in its state and another in its cases, so nothing after the command would complete
/// (clap-rs/clap#6421, open); the script's states never name the program itself.
fn completion(shell: Shell) -> Vec<u8> {
    const BASH_SAFE: &str = "docker_dcosreg";
    let name = if shell == Shell::Bash {
        BASH_SAFE
    } else {
        NAME
    };
    let mut cmd = Cli::command()
        .name(name)
        .bin_name(name)
        .disable_help_subcommand(true);
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    if shell != Shell::Bash {
        return script;
    }
    // Only the `complete` lines name the program: register the real name there.
    String::from_utf8_lossy(&script)
        .lines()
        .map(|line| match line.trim_start().starts_with("complete ") {
            true => line.replace(&format!(" {BASH_SAFE}"), &format!(" {NAME}")),
            false => line.to_owned(),
        })
        .map(|line| line + "\n")
        .collect::<String>()
        .into_bytes()
}

/// Write [`files`] under `dir` (created when missing), each atomically, mode 0644. A
/// packaging step run before any configuration: `dir` is used as given (no `--root`).
pub(crate) fn write_to(dir: &Path) -> anyhow::Result<Vec<String>> {
    let fs = crate::fsutil::Fs::REAL;
    if let Ok(meta) = fs.symlink_metadata(dir) {
        if !meta.is_dir() {
            anyhow::bail!(
                "{} is not a directory — give a directory to write the man pages and completions into",
                dir.display()
            );
        }
    }
    let files = files()?;
    let mut written = Vec::with_capacity(files.len());
    for (rel, bytes) in files {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            fs.create_dirs(parent)?;
        }
        fs.write_atomic(&path, &bytes, 0o644)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(rel);
    }
    Ok(written)
}

/// The page of `cmd`, then one for each visible subcommand, recursively.
fn pages(cmd: &Command, out: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
    out.push((page_name(cmd), render(cmd)?));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages(sub, out)?;
    }
    Ok(())
}

/// `man1/NAME.1`: a subcommand's name is its display name (`docker-dcosreg-trust`).
fn page_name(cmd: &Command) -> String {
    format!("man1/{}", man(cmd).get_filename())
}

fn man(cmd: &Command) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd.clone())
        .source(format!("{NAME} {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands")
}

fn render(cmd: &Command) -> anyhow::Result<Vec<u8>> {
    let mut page = Vec::new();
    man(cmd)
        .render(&mut page)
        .context("cannot render a man page")?;
    Ok(page)
}

/// The credential helper as Docker runs it: one action, the request on stdin, the answer
/// on stdout (docker-credential-helpers' protocol).
pub(crate) fn helper_command() -> Command {
    Command::new(CREDENTIAL_HELPER_NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .about("Docker credential helper for the DC/OS private registry's endpoints")
        .long_about(format!(
            "Docker runs this helper for the registry's endpoints when ~/.docker/config.json \
             names it (credHelpers: {{\"HOST\": \"dcosreg\"}}; `docker dcosreg login` writes \
             that). It answers docker-credential-helpers' protocol: the action is the only \
             argument, the request is read from stdin, the answer is written to stdout.\n\n\
             It gives a secret only for the spellings of the registry that `docker dcosreg \
             login` recorded, and only after the endpoint's TLS verified against the trusted \
             CA; the CI variables ({user} with {password} or {file}) are scoped to those \
             endpoints too. It is the docker-dcosreg binary under another name.",
            user = credentials::ENV_USERNAME,
            password = credentials::ENV_PASSWORD,
            file = credentials::ENV_PASSWORD_FILE,
        ))
        .arg(
            Arg::new("action")
                .value_name("ACTION")
                .required(true)
                .value_parser([
                    PossibleValue::new("get")
                        .help("server URL on stdin; {ServerURL, Username, Secret} on stdout"),
                    PossibleValue::new("store")
                        .help("{ServerURL, Username, Secret} on stdin (docker login)"),
                    PossibleValue::new("erase").help("server URL on stdin (docker logout)"),
                    PossibleValue::new("list").help("{ServerURL: Username} on stdout"),
                    PossibleValue::new("version").help("the version"),
                ]),
        )
        .after_long_help(format!(
            "Examples:\n  echo 10.0.0.1 | {CREDENTIAL_HELPER_NAME} get\n  \
             {CREDENTIAL_HELPER_NAME} list\n\nSee also: docker-dcosreg-login(1), \
             docker-dcosreg-credentials(1)."
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_visible_command_has_a_page_and_hidden_ones_none() {
        let files = files().unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        for cmd in Cli::command().get_subcommands() {
            let page = format!("man1/{NAME}-{}.1", cmd.get_name());
            assert_eq!(
                names.contains(&page.as_str()),
                !cmd.is_hide_set(),
                "{page} in {names:?}"
            );
        }
        assert!(names.contains(&"man1/docker-credential-dcosreg.1"));
        assert!(names.contains(&"completions/zsh/_docker-dcosreg"));
    }

    #[test]
    fn the_same_binary_gives_the_same_bytes() {
        assert_eq!(files().unwrap(), files().unwrap());
    }
}
