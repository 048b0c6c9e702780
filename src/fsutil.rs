//! Writes that never leave a file half-written.
//!
//! A kill -9 or a full disk in the middle of `trust`, `cert` or `rewrite` must leave every
//! file either old or new: write a temp file in the same directory, fsync it, rename it over
//! the target, fsync the directory.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::Context;

/// Atomically replace `path` with `contents`. The mode is kept when the file exists,
/// else `new_mode` is used.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], new_mode: u32) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mode = match fs::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        Err(_) => new_mode,
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".dcosreg-")
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(|e| permission_hint(e, dir))?;
    temp.write_all(contents)
        .and_then(|_| temp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    // The umask may have narrowed the mode given at creation.
    fs::set_permissions(temp.path(), fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    temp.persist(path)
        .map_err(|e| permission_hint(e.error, path))?;
    sync_dir(dir);
    Ok(())
}

/// Create `dir` and its parents with mode 0755, returning the directories created
/// (outermost first) so that an undo can remove exactly those.
pub(crate) fn create_dirs(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut missing = Vec::new();
    let mut cursor = Some(dir);
    while let Some(current) = cursor {
        if current.as_os_str().is_empty() || current.exists() {
            break;
        }
        missing.push(current.to_path_buf());
        cursor = current.parent();
    }
    missing.reverse();
    for created in &missing {
        match fs::create_dir(created) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(permission_hint(e, created)),
        }
        fs::set_permissions(created, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot set the mode of {}", created.display()))?;
    }
    Ok(missing)
}

/// Make a rename durable; a failure here is not worth failing the command for.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// Turn "permission denied" into the sentence a user can act on.
pub(crate) fn permission_hint(err: std::io::Error, path: &Path) -> anyhow::Error {
    if err.kind() == std::io::ErrorKind::PermissionDenied {
        anyhow::anyhow!(
            "no permission to write {} — run with sudo, or use --root DIR to stage the files elsewhere",
            path.display()
        )
    } else {
        anyhow::Error::new(err).context(format!("cannot write {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"one", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
    }

    #[test]
    fn create_dirs_reports_only_what_it_made() {
        let dir = tempfile::tempdir().unwrap();
        let made = create_dirs(&dir.path().join("a/b/c")).unwrap();
        assert_eq!(made.len(), 3);
        assert!(create_dirs(&dir.path().join("a/b/c")).unwrap().is_empty());
    }
}
