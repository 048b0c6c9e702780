//! Every file access of the tool: confined to `--root`, bounded, never half-written.
//!
//! - **Confined.** With `--root DIR`, a host path is resolved the way a process
//!   chroot-ed to DIR would see it (Linux `openat2(RESOLVE_IN_ROOT)` semantics, done in
//!   user space): an absolute link target starts again at DIR and `..` stops at DIR, so a
//!   link planted under the root (`ROOT/etc/docker/certs.d -> /etc/docker/certs.d`) can
//!   never make us read, write or delete outside it. [`set_root`] is called once by `main`;
//!   [`resolve_in_root`] is the one resolver, and every reader and writer here uses it.
//! - **Bounded.** [`read_file`] reads regular files only (a FIFO or `/dev/zero` is
//!   refused, never waited on) and at most a size cap; every config, state and trust-store
//!   file goes through it (or [`open_regular`]), `/proc` files of a staged root included.
//! - **Atomic.** A kill -9 or a full disk in the middle of `trust`, `cert` or `rewrite` must
//!   leave every file either old or new: write a temp file in the same directory, fsync
//!   it, rename it over the target (which replaces a link, never writes through it), fsync
//!   the directory. The owner, group and mode of a replaced file are kept, as `sed -i` does.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;

mod batch;
pub(crate) use batch::{commit_batch, BatchDir};

/// `--root` when it is not `/`.
static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Symlinks followed while resolving one path before giving up (Linux's MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// Size cap for a trust-store, config or manifest file: the largest real one (Debian's
/// ca-certificates.crt) is about 220 KB.
pub(crate) const MAX_FILE: u64 = 8 << 20;

/// Confine every later access under `root` (no-op for `/`).
pub(crate) fn set_root(root: &Path) {
    if root != Path::new("/") {
        let _ = ROOT.set(root.to_path_buf());
    }
}

/// `rel` (absolute as seen from `root`, or relative to it) resolved under `root`: every
/// symlink is followed as if `root` were `/`. Components that do not exist yet are kept
/// as they are. When `follow_last` is false, a link in the last component is left alone
/// (a rename or unlink acts on the link itself).
pub(crate) fn resolve_in_root(
    root: &Path,
    rel: &Path,
    follow_last: bool,
) -> std::io::Result<PathBuf> {
    // Pending components, last first, so a link's text can be pushed in front of them.
    let mut pending: Vec<std::ffi::OsString> = Vec::new();
    push_components(&mut pending, rel);
    let mut resolved: Vec<std::ffi::OsString> = Vec::new();
    let mut links = 0;
    let mut exists = true;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = root.join(resolved.iter().collect::<PathBuf>()).join(&part);
        let is_last = pending.is_empty();
        if exists && (follow_last || !is_last) {
            match fs::symlink_metadata(&candidate) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(std::io::Error::other(format!(
                            "too many levels of symbolic links at {}",
                            candidate.display()
                        )));
                    }
                    let target = fs::read_link(&candidate)?;
                    if target.is_absolute() {
                        resolved.clear();
                    }
                    push_components(&mut pending, &target);
                    continue;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => exists = false,
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => exists = false,
                Err(e) => return Err(e),
            }
        }
        resolved.push(part);
    }
    Ok(root.join(resolved.iter().collect::<PathBuf>()))
}

/// Push the normal and `..` components of `path` onto `pending` so that the first is
/// popped first.
fn push_components(pending: &mut Vec<std::ffi::OsString>, path: &Path) {
    let parts: Vec<std::ffi::OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    pending.extend(parts.into_iter().rev());
}

/// `path` confined under `--root` when it lies there (paths elsewhere, such as a
/// `--ca-file` the user named, are used as given).
pub(crate) fn confine(path: &Path, follow_last: bool) -> std::io::Result<PathBuf> {
    let Some(root) = ROOT.get() else {
        return Ok(path.to_path_buf());
    };
    match path.strip_prefix(root) {
        Ok(rel) => resolve_in_root(root, rel, follow_last),
        Err(_) => Ok(path.to_path_buf()),
    }
}

/// Why a file was not read.
fn refuse(path: &Path, what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{} {what}", path.display()),
    )
}

/// Open `path` (confined under `--root`) for reading if it is a regular file: opened
/// non-blocking, so a FIFO with no writer or a device is refused at once by fstat instead of
/// waited on. `/proc` and `/sys` files are regular files too.
pub(crate) fn open_regular(path: &Path) -> std::io::Result<fs::File> {
    let real = confine(path, true)?;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(&real)?;
    if !file.metadata()?.is_file() {
        return Err(refuse(
            path,
            "is not a regular file — give a file, not a FIFO, device or directory",
        ));
    }
    Ok(file)
}

/// Read a whole regular file of at most `cap` bytes, confined under `--root`. A FIFO, a
/// device or a directory is refused without blocking ([`open_regular`]); a file whose size
/// is over the cap is refused before a byte is read (a sparse 400 MB file costs nothing), and
/// one that grows past it (or a `/proc` file, whose size says 0) is read to cap + 1 bytes at
/// most.
pub(crate) fn read_file(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let meta = file.metadata()?;
    if meta.len() > cap {
        return Err(refuse(
            path,
            &format!("is larger than {} bytes — is it the right file?", cap),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(refuse(
            path,
            &format!("is larger than {} bytes — is it the right file?", cap),
        ));
    }
    Ok(bytes)
}

/// [`read_file`] with [`MAX_FILE`], as UTF-8 text.
pub(crate) fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = read_file(path, MAX_FILE)?;
    String::from_utf8(bytes).map_err(|_| refuse(path, "is not UTF-8 text"))
}

/// Remove a file (or the link itself), confined under `--root`.
pub(crate) fn remove_file(path: &Path) -> std::io::Result<()> {
    fs::remove_file(confine(path, false)?)
}

/// Remove an empty directory, confined under `--root`.
pub(crate) fn remove_dir(path: &Path) -> std::io::Result<()> {
    fs::remove_dir(confine(path, false)?)
}

/// Create a secret (a private key) at `path`: a new file with mode 0600 from its first
/// byte, renamed over whatever is there (a link is replaced, never written through), so
/// neither a planted link nor an old file's mode can widen who reads it.
pub(crate) fn write_secret(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    stage_with(path, contents, 0o600, false)?.commit()
}

/// Atomically replace `path` with `contents`. The owner, group and mode of an existing
/// regular file are kept, else `new_mode` is used (a link at `path` is replaced by the
/// file: its target's mode is not taken).
pub(crate) fn write_atomic(path: &Path, contents: &[u8], new_mode: u32) -> anyhow::Result<()> {
    stage(path, contents, new_mode)?.commit()
}

/// A complete new content for a file, fsync-ed in a temp file beside it and not yet
/// renamed over it. Staging every file of a run first means a full disk or a read-only
/// directory stops the run before any file changed; [`Staged::commit`] only renames.
/// Dropped without commit, the temp file is removed.
pub(crate) struct Staged {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
    dir: PathBuf,
    /// uid/gid to give the new file (those of the file it replaces).
    keep_owner: Option<(u32, u32)>,
}

/// Write `contents` to a temp file in `path`'s directory (confined under `--root`), with
/// the mode, owner and group of the file it will replace (`new_mode` for a new file).
pub(crate) fn stage(path: &Path, contents: &[u8], new_mode: u32) -> anyhow::Result<Staged> {
    stage_with(path, contents, new_mode, true)
}

fn stage_with(
    path: &Path,
    contents: &[u8],
    new_mode: u32,
    keep_existing: bool,
) -> anyhow::Result<Staged> {
    let target = confine(path, false).map_err(|e| permission_hint(e, path))?;
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let existing = fs::symlink_metadata(&target)
        .ok()
        .filter(|m| keep_existing && m.is_file());
    let mode = existing
        .as_ref()
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(new_mode);
    let mut temp = tempfile::Builder::new()
        .prefix(".dcosreg-")
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(mode & 0o777))
        .tempfile_in(&dir)
        .map_err(|e| permission_hint(e, &dir))?;
    temp.write_all(contents)
        .and_then(|_| temp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let keep_owner = existing
        .as_ref()
        .map(|m| (m.uid(), m.gid()))
        .filter(|&(uid, gid)| {
            let own = temp.as_file().metadata().ok();
            own.is_none_or(|o| o.uid() != uid || o.gid() != gid)
        });
    let staged = Staged {
        temp,
        target,
        dir,
        keep_owner,
    };
    // The umask may have narrowed the mode given at creation; set it after chown, which
    // clears setuid/setgid bits.
    if let Some((uid, gid)) = staged.keep_owner {
        std::os::unix::fs::fchown(staged.temp.as_file(), Some(uid), Some(gid))
            .with_context(|| format!("cannot keep the owner of {}", path.display()))?;
    }
    fs::set_permissions(staged.temp.path(), fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    Ok(staged)
}

impl Staged {
    /// Rename the staged content over the target and make the rename durable.
    pub(crate) fn commit(self) -> anyhow::Result<()> {
        let Staged {
            temp, target, dir, ..
        } = self;
        temp.persist(&target)
            .map_err(|e| permission_hint(e.error, &target))?;
        sync_dir(&dir);
        Ok(())
    }
}

/// Create `dir` and its parents with mode 0755, returning the directories created
/// (outermost first) so that an undo can remove exactly those.
pub(crate) fn create_dirs(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let dir = confine(dir, true).map_err(|e| permission_hint(e, dir))?;
    let mut missing = Vec::new();
    let mut cursor = Some(dir.as_path());
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

/// Hold an exclusive lock on `root` (the directory itself, so no lock file is left
/// behind) for the whole read-modify-write of a `trust` or `untrust`: the manifest and the
/// TOML files shared between endpoints are read, planned and written under it, so runs on
/// one root queue instead of losing each other's entries. Released when the file drops
/// (also on kill: flock belongs to the open file).
pub(crate) fn lock_root(root: &Path) -> anyhow::Result<fs::File> {
    if !root.exists() {
        create_dirs(root)?;
    }
    // O_DIRECTORY: a FIFO planted as the root is refused, not waited on.
    let handle = fs::OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::NONBLOCK).bits() as i32)
        .open(root)
        .with_context(|| format!("cannot open --root {} to lock it", root.display()))?;
    use rustix::fs::{flock, FlockOperation};
    match flock(&handle, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => return Ok(handle),
        Err(rustix::io::Errno::WOULDBLOCK) => {
            crate::output::say(&format!(
                "waiting for another docker-dcosreg trust/untrust on {} to finish…",
                root.display()
            ));
        }
        Err(e) => {
            return Err(std::io::Error::from(e))
                .with_context(|| format!("cannot lock {}", root.display()))
        }
    }
    flock(&handle, FlockOperation::LockExclusive)
        .map_err(std::io::Error::from)
        .with_context(|| format!("cannot lock {}", root.display()))?;
    Ok(handle)
}

/// Make a rename durable; a failure here is not worth failing the command for.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = fs::OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::NONBLOCK).bits() as i32)
        .open(dir)
    {
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

/// Why a path could not be read, in the words of `ls` and `cat` (no "os error 2").
pub(crate) fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => err.to_string(),
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
    fn links_resolve_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("etc/docker")).unwrap();
        fs::create_dir_all(r.join("usr/share")).unwrap();
        // Absolute, relative and `..`-climbing links all stay under the root.
        std::os::unix::fs::symlink(outside.path(), r.join("etc/docker/certs.d")).unwrap();
        std::os::unix::fs::symlink("../../../../../..", r.join("usr/share/up")).unwrap();
        std::os::unix::fs::symlink("/usr/share", r.join("etc/shared")).unwrap();
        let certs = resolve_in_root(r, Path::new("/etc/docker/certs.d/h/ca.crt"), true).unwrap();
        assert!(certs.starts_with(r), "{certs:?}");
        assert_eq!(
            certs,
            r.join(outside.path().strip_prefix("/").unwrap())
                .join("h/ca.crt")
        );
        assert_eq!(
            resolve_in_root(r, Path::new("usr/share/up/etc"), true).unwrap(),
            r.join("etc")
        );
        assert_eq!(
            resolve_in_root(r, Path::new("/etc/shared/x"), true).unwrap(),
            r.join("usr/share/x")
        );
        // The last link is left alone when asked (rename/unlink act on the link).
        assert_eq!(
            resolve_in_root(r, Path::new("/etc/docker/certs.d"), false).unwrap(),
            r.join("etc/docker/certs.d")
        );
        // A loop is an error, not a hang.
        std::os::unix::fs::symlink("loop", r.join("loop")).unwrap();
        assert!(resolve_in_root(r, Path::new("/loop/x"), true).is_err());
    }

    #[test]
    fn reads_are_bounded_and_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // Would block forever on open or read if it were waited on.
        let err = read_file(&fifo, MAX_FILE).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert!(read_file(Path::new("/dev/zero"), MAX_FILE).is_err());
        assert!(read_file(dir.path(), MAX_FILE).is_err());
        let big = dir.path().join("big");
        fs::write(&big, vec![b'a'; 100]).unwrap();
        assert!(read_file(&big, 99)
            .unwrap_err()
            .to_string()
            .contains("larger than"));
        assert_eq!(read_file(&big, 100).unwrap().len(), 100);
    }

    #[test]
    fn secrets_are_fresh_0600_files_not_links() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"public").unwrap();
        fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
        let key = dir.path().join("ca.key");
        std::os::unix::fs::symlink(&victim, &key).unwrap();
        write_secret(&key, b"secret").unwrap();
        let meta = fs::symlink_metadata(&key).unwrap();
        assert!(meta.is_file(), "the link was replaced by a file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            fs::read(&victim).unwrap(),
            b"public",
            "never written through"
        );
        // An old key with a wide mode does not pass it on.
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        write_secret(&key, b"secret2").unwrap();
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn create_dirs_reports_only_what_it_made() {
        let dir = tempfile::tempdir().unwrap();
        let made = create_dirs(&dir.path().join("a/b/c")).unwrap();
        assert_eq!(made.len(), 3);
        assert!(create_dirs(&dir.path().join("a/b/c")).unwrap().is_empty());
    }
}
