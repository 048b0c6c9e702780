//! TAB after `docker dcosreg`: Docker's completion asks each CLI plugin itself, running it
//! as `docker-dcosreg __complete dcosreg ARGS… WORD` (docker/cli
//! `cli-plugins/manager/cobra.go`), and prints what the plugin prints: cobra's protocol, one
//! candidate a line (`value<TAB>description`), then `:N`, the ShellCompDirective (0: the
//! shell may complete file names, 4: it may not). buildx and compose answer the same way.
//!
//! The candidates come from the clap definitions (`crate::cli`): subcommands, flags, the
//! values of value enums (`--format`, `--to`, `--via`, …), and the lists the code owns
//! (`--target`'s stores, `snippet`'s kinds and section ids). A flag that takes a path leaves
//! the completion to the shell's file names. Nothing reads a file or the network here.

use clap::{Arg, ArgAction, Command, CommandFactory};

use crate::cli::Cli;

/// cobra's `ShellCompDirectiveDefault`: the shell may complete file names.
const FILES: u8 = 0;
/// cobra's `ShellCompDirectiveNoFileComp`.
const NO_FILES: u8 = 4;

/// The protocol's whole answer for `args` (what follows `__complete`: the plugin's name,
/// the words already typed, and the word being completed, maybe empty).
pub(crate) fn answer(args: &[String]) -> String {
    let words = match args.split_first() {
        Some((first, rest)) if first == crate::plugin::PLUGIN_NAME => rest,
        _ => args,
    };
    let (current, done) = match words.split_last() {
        Some((current, done)) => (current.as_str(), done),
        None => ("", &[][..]),
    };
    let root = Cli::command();
    let (candidates, directive) = complete(&root, done, current);
    let mut out = String::new();
    for (value, help) in candidates {
        out.push_str(&value);
        if !help.is_empty() {
            out.push('\t');
            out.push_str(&help);
        }
        out.push('\n');
    }
    out.push_str(&format!(":{directive}\n"));
    out
}

type Candidates = Vec<(String, String)>;

fn complete(root: &Command, done: &[String], current: &str) -> (Candidates, u8) {
    // Walk the typed words: subcommands descend, a flag that takes a value eats the next.
    let mut path: Vec<&Command> = vec![root];
    let mut pending: Option<Arg> = None;
    let mut positionals = 0usize;
    for word in done {
        let cmd = *path.last().unwrap_or(&root);
        if let Some(arg) = pending.take() {
            let _ = arg;
            continue;
        }
        if word == "--" {
            continue;
        }
        if let Some(name) = word.strip_prefix("--") {
            if !name.contains('=') {
                pending = find_long(&path, name).filter(takes_value);
            }
            continue;
        }
        if word.starts_with('-') && word.len() > 1 {
            let last = word.chars().last().unwrap_or('-');
            pending = find_short(&path, last).filter(takes_value);
            continue;
        }
        match cmd.find_subcommand(word) {
            Some(sub) if positionals == 0 => path.push(sub),
            _ => positionals += 1,
        }
    }
    let cmd = *path.last().unwrap_or(&root);
    if let Some(arg) = pending {
        return values(cmd, &arg, current, "");
    }
    if let Some(rest) = current.strip_prefix("--") {
        if let Some((name, typed)) = rest.split_once('=') {
            return match find_long(&path, name) {
                Some(arg) => values(cmd, &arg, typed, &format!("--{name}=")),
                None => (Vec::new(), NO_FILES),
            };
        }
        return (flags(&path, current), NO_FILES);
    }
    if current.starts_with('-') {
        return (flags(&path, current), NO_FILES);
    }
    let subs: Candidates = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name().starts_with(current))
        .map(|s| (s.get_name().to_string(), about(s)))
        .collect();
    if positionals == 0 && !subs.is_empty() {
        return (subs, NO_FILES);
    }
    positional_values(&path, positionals, current)
}

/// Values for a positional of the innermost command: snippet kinds and ids; file names
/// where the command takes paths (rewrite, build); nothing else.
fn positional_values(path: &[&Command], index: usize, current: &str) -> (Candidates, u8) {
    let names: Vec<&str> = path.iter().skip(1).map(|c| c.get_name()).collect();
    match (names.as_slice(), index) {
        (["snippet"], 0) => (
            crate::snippet::KINDS
                .iter()
                .filter(|k| k.name.starts_with(current))
                .map(|k| (k.name.to_string(), k.description.to_string()))
                .collect(),
            NO_FILES,
        ),
        (["rewrite"] | ["build"], _) => (Vec::new(), FILES),
        _ => (Vec::new(), NO_FILES),
    }
}

/// The values a flag takes: its possible values, `--target`'s stores (a comma list: the
/// last item is completed), or file names for a path.
fn values(cmd: &Command, arg: &Arg, current: &str, prefix: &str) -> (Candidates, u8) {
    let id = arg.get_id().as_str();
    if id == "target" {
        let (head, last) = match current.rsplit_once(',') {
            Some((head, last)) => (format!("{head},"), last),
            None => (String::new(), current),
        };
        let candidates = crate::trust::Target::ALL
            .iter()
            .map(|t| t.name())
            .filter(|t| t.starts_with(last) && !head.split(',').any(|h| h == *t))
            .map(|t| (format!("{prefix}{head}{t}"), String::new()))
            .collect();
        return (candidates, NO_FILES);
    }
    let possible = arg.get_possible_values();
    if !possible.is_empty() {
        let candidates = possible
            .iter()
            .filter(|v| !v.is_hide_set() && v.get_name().starts_with(current))
            .map(|v| {
                (
                    format!("{prefix}{}", v.get_name()),
                    v.get_help().map(ToString::to_string).unwrap_or_default(),
                )
            })
            .collect();
        return (candidates, NO_FILES);
    }
    let _ = cmd;
    let names = arg
        .get_value_names()
        .map(|n| n.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        .unwrap_or_default();
    let is_path = names
        .iter()
        .any(|n| matches!(*n, "FILE" | "DIR" | "PEM" | "PATH"));
    if is_path && prefix.is_empty() {
        (Vec::new(), FILES)
    } else {
        (Vec::new(), NO_FILES)
    }
}

/// The long flags of the command and of its parents' global ones, with their help.
fn flags(path: &[&Command], current: &str) -> Candidates {
    let mut out: Candidates = Vec::new();
    for (depth, cmd) in path.iter().enumerate() {
        let innermost = depth + 1 == path.len();
        for arg in cmd.get_arguments() {
            if arg.is_hide_set() || !(innermost || arg.is_global_set()) {
                continue;
            }
            let Some(long) = arg.get_long() else { continue };
            let flag = format!("--{long}");
            if flag.starts_with(current) && !out.iter().any(|(f, _)| *f == flag) {
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                out.push((flag, first_line(&help)));
            }
        }
    }
    if "--help".starts_with(current) && !out.iter().any(|(f, _)| f == "--help") {
        out.push(("--help".into(), "Print help".into()));
    }
    out
}

fn find_long(path: &[&Command], name: &str) -> Option<Arg> {
    path.iter()
        .rev()
        .flat_map(|c| c.get_arguments())
        .find(|a| a.get_long() == Some(name))
        .cloned()
}

fn find_short(path: &[&Command], short: char) -> Option<Arg> {
    path.iter()
        .rev()
        .flat_map(|c| c.get_arguments())
        .find(|a| a.get_short() == Some(short))
        .cloned()
}

fn takes_value(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append)
}

fn about(cmd: &Command) -> String {
    cmd.get_about()
        .map(|a| first_line(&a.to_string()))
        .unwrap_or_default()
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(words: &[&str]) -> String {
        let args: Vec<String> = std::iter::once("dcosreg")
            .chain(words.iter().copied())
            .map(String::from)
            .collect();
        answer(&args)
    }

    #[test]
    fn commands_flags_and_values_complete() {
        let top = run(&[""]);
        assert!(top.lines().any(|l| l.starts_with("trust\t")), "{top}");
        assert!(top.ends_with(":4\n"), "{top}");
        let flags = run(&["trust", "--f"]);
        assert!(
            flags.contains("--fingerprint\t") && flags.contains("--force\t"),
            "{flags}"
        );
        assert!(flags.contains("--format\t"), "global flags too: {flags}");
        let targets = run(&["trust", "--target", "docker,con"]);
        assert_eq!(
            targets, "docker,containerd\ndocker,containers\n:4\n",
            "{targets}"
        );
        let formats = run(&["--format", ""]);
        assert!(formats.contains("prometheus"), "{formats}");
        let to = run(&["rewrite", "--to=ex"]);
        assert_eq!(to.lines().next(), Some("--to=external"), "{to}");
        let kinds = run(&["snippet", "gi"]);
        assert!(kinds.starts_with("gitlab-runner\t"), "{kinds}");
        // A path: the shell completes file names.
        assert_eq!(run(&["trust", "--ca-file", ""]), ":0\n");
        assert_eq!(run(&["rewrite", "--to", "external", ""]), ":0\n");
    }
}
