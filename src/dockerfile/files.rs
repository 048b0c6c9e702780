//! Which files `rewrite` works on: the files named on the command line (whatever their
//! name) and the Dockerfiles found inside named directories. The one part of `dockerfile/`
//! that touches the file system, and only to list directories and stat paths: contents are
//! read by the caller.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};

use crate::fsutil::io_reason;

/// The path that names standard input (and output).
pub(crate) const STDIN: &str = "-";

/// A file to process and the name to show for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Input {
    pub(crate) display: String,
    /// The file's real path (links resolved, so a write replaces the target, not the
    /// link); `None` for stdin.
    pub(crate) path: Option<PathBuf>,
}

/// Files named in `paths` (whatever their name, each once), the Dockerfiles inside named
/// directories (sorted, `.git` skipped, links not followed), stdin for `-` or no path.
/// Fails before anything is read when a path does not exist or is not a regular file or a
/// directory.
pub(crate) fn inputs(paths: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    if paths.is_empty() {
        return Ok(vec![Input {
            display: STDIN.into(),
            path: None,
        }]);
    }
    let mut inputs = Vec::new();
    let mut seen = HashSet::new();
    let mut stdin_taken = false;
    for path in paths {
        if path.as_os_str() == STDIN {
            if !stdin_taken {
                stdin_taken = true;
                inputs.push(Input {
                    display: STDIN.into(),
                    path: None,
                });
            }
            continue;
        }
        let meta = fs::metadata(path).map_err(|e| {
            anyhow!(
                "cannot read {}: {} — check the path",
                path.display(),
                io_reason(&e)
            )
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            for file in found {
                add_file(&mut inputs, &mut seen, file)?;
            }
        } else if meta.is_file() {
            add_file(&mut inputs, &mut seen, path.clone())?;
        } else {
            // A FIFO or a device would block or never end: refuse before writing anything.
            return Err(anyhow!(
                "cannot rewrite {}: not a regular file — name a Dockerfile or a directory",
                path.display()
            ));
        }
    }
    Ok(inputs)
}

/// Add a file once, writing through a symlink to its target (a rename over the link
/// would replace the link with a copy).
fn add_file(
    inputs: &mut Vec<Input>,
    seen: &mut HashSet<PathBuf>,
    path: PathBuf,
) -> anyhow::Result<()> {
    let real = fs::canonicalize(&path)
        .with_context(|| format!("cannot resolve {} — check the path", path.display()))?;
    if seen.insert(real.clone()) {
        inputs.push(Input {
            display: path.display().to_string(),
            path: Some(real),
        });
    }
    Ok(())
}

/// Recursive walk: Dockerfile names only, no `.git`, symlinks not followed.
fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| {
        anyhow!(
            "cannot read directory {}: {} — check its permissions",
            dir.display(),
            io_reason(&e)
        )
    })?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read directory {}", dir.display()))?;
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot stat {}", entry.path().display()))?;
        let name = entry.file_name();
        if kind.is_dir() {
            if name != ".git" {
                walk(&entry.path(), found)?;
            }
        } else if kind.is_file() && is_dockerfile_name(&name.to_string_lossy()) {
            found.push(entry.path());
        }
    }
    Ok(())
}

/// `Dockerfile`, `*.Dockerfile`, `Dockerfile.*`, `Containerfile`, `Containerfile.*`.
pub(crate) fn is_dockerfile_name(name: &str) -> bool {
    name == "Dockerfile"
        || name == "Containerfile"
        || name.starts_with("Dockerfile.")
        || name.starts_with("Containerfile.")
        || (name.ends_with(".Dockerfile") && name.len() > ".Dockerfile".len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_names() {
        for yes in [
            "Dockerfile",
            "Dockerfile.dev",
            "app.Dockerfile",
            "Containerfile",
            "Containerfile.x",
        ] {
            assert!(is_dockerfile_name(yes), "{yes}");
        }
        for no in [
            "dockerfile",
            "Dockerfile~",
            "x.dockerfile",
            ".Dockerfile",
            "README",
            "MyDockerfile",
        ] {
            assert!(!is_dockerfile_name(no), "{no}");
        }
    }

    fn shown(inputs: &[Input]) -> Vec<&str> {
        inputs.iter().map(|i| i.display.as_str()).collect()
    }

    #[test]
    fn a_directory_gives_its_dockerfiles_sorted_without_git_or_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for file in [
            "b/Dockerfile",
            "a/app.Dockerfile",
            "Containerfile",
            ".git/Dockerfile",
            "README",
            "elsewhere/Dockerfile.dev",
        ] {
            fs::create_dir_all(d.join(file).parent().expect("parent")).expect("mkdir");
            fs::write(d.join(file), "FROM x\n").expect("write");
        }
        std::os::unix::fs::symlink(d.join("elsewhere"), d.join("b/linked-dir")).expect("link");
        std::os::unix::fs::symlink(d.join("Containerfile"), d.join("a/Dockerfile")).expect("link");

        let found = inputs(&[d.join("a"), d.join("b"), d.to_path_buf()]).expect("inputs");
        let root = d.display();
        assert_eq!(
            shown(&found),
            [
                format!("{root}/a/app.Dockerfile"),
                format!("{root}/b/Dockerfile"),
                format!("{root}/Containerfile"),
                format!("{root}/elsewhere/Dockerfile.dev"),
            ],
            "each file once, in the order named, links and .git left out"
        );
        let real = fs::canonicalize(d.join("b/Dockerfile")).expect("real");
        assert_eq!(found[1].path.as_deref(), Some(real.as_path()));
    }

    #[test]
    fn a_named_file_counts_whatever_its_name_and_a_link_writes_to_its_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("build.txt");
        fs::write(&file, "FROM x\n").expect("write");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).expect("link");
        let found = inputs(&[link.clone(), file.clone()]).expect("inputs");
        assert_eq!(found.len(), 1, "the same file once: {found:?}");
        assert_eq!(found[0].display, link.display().to_string());
        let real = fs::canonicalize(&file).expect("real");
        assert_eq!(found[0].path.as_deref(), Some(real.as_path()));
    }

    #[test]
    fn stdin_once_and_by_default() {
        let none = inputs(&[]).expect("inputs");
        assert_eq!(
            none,
            [Input {
                display: STDIN.into(),
                path: None
            }]
        );
        let twice = inputs(&[STDIN.into(), STDIN.into()]).expect("inputs");
        assert_eq!(twice, none);
    }

    #[test]
    fn missing_paths_and_fifos_stop_the_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let err = inputs(std::slice::from_ref(&missing)).expect_err("missing");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot read {}: no such file or directory — check the path",
                missing.display()
            )
        );
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.expect("mkfifo runs").success());
        let err = inputs(std::slice::from_ref(&fifo)).expect_err("fifo");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
