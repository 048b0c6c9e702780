//! Every file access of the tool: confined to `--root`, bounded, never half-written.
//!
//! - **Confined.** With `--root DIR`, a host path is resolved the way a process
//!   chroot-ed to DIR would see it (Linux `openat2(RESOLVE_IN_ROOT)` semantics, done in
//!   user space): an absolute link target starts again at DIR and `..` stops at DIR, so a
//!   link planted under the root (`ROOT/etc/docker/certs.d -> /etc/docker/certs.d`) can
//!   never make us read, write or delete outside it. The root travels with the run, never
//!   in a global: every reader and writer here is a method of [`Fs`], which
//!   `Config::fs()` (and `trust::Host::fs()`) hands out for `--root`; a path under the root
//!   is confined there, any other (a `--ca-file` the user named) is used as given, and
//!   [`Fs::REAL`] confines nothing (the real root, the config file read before `--root` is
//!   known, `__generate`, tests). [`resolve_in_root`] is the one resolver, and every reader
//!   and writer here uses it.
//! - **Bounded.** [`Fs::read_file`] reads regular files only (a FIFO or `/dev/zero` is
//!   refused, never waited on) and at most a size cap; every config, state and trust-store
//!   file goes through it (or [`Fs::open_regular`]), `/proc` files of a staged root included.
//! - **Atomic.** A kill -9 or a full disk in the middle of `trust`, `cert` or `rewrite` must
//!   leave every file either old or new: write a temp file in the same directory, fsync
//!   it, rename it over the target (which replaces a link, never writes through it), fsync
//!   the directory. The owner, group and mode of a replaced file are kept, as `sed -i` does.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};

use anyhow::Context;

mod batch;
pub(crate) use batch::{commit_batch, BatchDir};

/// Symlinks followed while resolving one path before giving up (Linux's MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// Size cap for a trust-store, config or manifest file: the largest real one (Debian's
/// ca-certificates.crt) is about 220 KB.
pub(crate) const MAX_FILE: u64 = 8 << 20;

/// `rel` (absolute as seen from `root`, or relative to it) resolved under `root`: every
/// symlink is followed as if `root` were `/`. Components that do not exist yet are kept
/// as they are. When `follow_last` is false, a link in the last component is left alone
/// (a rename or unlink acts on the link itself).
pub(crate) fn resolve_in_root(
    root: &Path,
    rel: &Path,
    follow_last: bool,
) -> std::io::Result<PathBuf> {
    // `x/.` and `x/` name the directory `x` leads to, as they do for the kernel.
    let text = rel.as_os_str().as_encoded_bytes();
    let follow_last = follow_last || text.ends_with(b"/") || text.ends_with(b"/.") || text == b".";
    // Pending components, last first, so a link's text can be pushed in front of them.
    let mut pending: Vec<std::ffi::OsString> = Vec::new();
    push_components(&mut pending, rel);
    let mut resolved: Vec<std::ffi::OsString> = Vec::new();
    let mut links = 0;
    let mut exists = true;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            // Back in a directory that exists (`missing/..`, `file/..`): the links after
            // it must be followed again, not kept as text the kernel would follow later.
            if !exists {
                exists = fs::symlink_metadata(root.join(resolved.iter().collect::<PathBuf>()))
                    .is_ok_and(|m| m.is_dir());
            }
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

/// `path` (as seen from `root`) as a path under `root`, every link resolved inside it
/// ([`resolve_in_root`]): `/etc/docker` becomes `ROOT/etc/docker`. On the real root the path
/// is used as given. A path that cannot be resolved inside the root (a link that loops
/// there, such as `etc/ssl -> /etc/ssl`) is an error naming it and the fix: there is no
/// plain `ROOT/…` join to fall back on, which the kernel would resolve outside the root.
pub(crate) fn host_path(root: &Path, path: &Path) -> anyhow::Result<PathBuf> {
    let relative = path.strip_prefix("/").unwrap_or(path);
    if root == Path::new("/") {
        return Ok(root.join(relative));
    }
    resolve_in_root(root, relative, true).map_err(|e| unresolvable(&root.join(relative), root, &e))
}

/// The one-line error for a path under `root` that cannot be resolved inside it.
fn unresolvable(path: &Path, root: &Path, err: &std::io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot resolve {} inside --root {}: {} — a link there loops or leads nowhere once {} is `/`; fix or remove it",
        path.display(),
        root.display(),
        io_reason(err),
        root.display()
    )
}

/// Where host paths are confined: `--root`, carried explicitly by whoever makes host paths
/// ([`crate::config::Config::fs`], `trust::Host::fs`), never a process-wide setting. Every
/// reader and writer of this module is a method of it; a path under the root is confined
/// there, any other path (a `--ca-file` the user named) is used as given.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fs<'a> {
    /// `--root` when it is not `/`.
    root: Option<&'a Path>,
}

impl Fs<'static> {
    /// No confinement: the real root, or a file read before `--root` is known (the config
    /// file) or in a test.
    pub(crate) const REAL: Fs<'static> = Fs { root: None };
}

impl<'a> Fs<'a> {
    /// Confine every access through it under `root` (none for `/`).
    pub(crate) fn under(root: &'a Path) -> Fs<'a> {
        Fs {
            root: (root != Path::new("/")).then_some(root),
        }
    }
}

/// Why a file was not read.
fn refuse(path: &Path, what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{} {what}", path.display()),
    )
}

/// Whether this kernel has `openat2(2)` (Linux 5.6): unknown until the first call, and
/// "no" for good once it answered ENOSYS (an old kernel, or a seccomp profile that hides it).
static OPENAT2: AtomicU8 = AtomicU8::new(OPENAT2_UNKNOWN);
const OPENAT2_UNKNOWN: u8 = 0;
const OPENAT2_MISSING: u8 = 2;

/// Open `rel` under `root` as a process chroot-ed to `root` would: with the kernel's
/// `openat2(RESOLVE_IN_ROOT)` where it has it (the resolution and the open are one step, so
/// nothing can swap a link in between), else with [`resolve_in_root`] and an open of its
/// result that follows no further link. `O_CLOEXEC` is always added.
pub(crate) fn open_in_root(
    root: &Path,
    rel: &Path,
    flags: rustix::fs::OFlags,
) -> std::io::Result<std::os::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    let flags = flags | OFlags::CLOEXEC;
    let rel = rel.strip_prefix("/").unwrap_or(rel);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    if OPENAT2.load(Ordering::Relaxed) != OPENAT2_MISSING {
        let dir = rustix::fs::open(
            root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        // EAGAIN: a rename or mount raced a `..` walk; the kernel asks for a retry.
        for _ in 0..8 {
            match rustix::fs::openat2(
                &dir,
                rel,
                flags,
                Mode::empty(),
                ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
            ) {
                Ok(fd) => return Ok(fd),
                Err(rustix::io::Errno::AGAIN) => continue,
                Err(rustix::io::Errno::NOSYS) => {
                    OPENAT2.store(OPENAT2_MISSING, Ordering::Relaxed);
                    break;
                }
                Err(rustix::io::Errno::LOOP) => {
                    return Err(std::io::Error::other(format!(
                        "too many levels of symbolic links under {}",
                        root.join(rel).display()
                    )))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    let real = resolve_in_root(root, rel, true)?;
    Ok(rustix::fs::open(
        &real,
        flags | OFlags::NOFOLLOW,
        Mode::empty(),
    )?)
}

impl Fs<'_> {
    /// `path` confined under `--root` when it lies there (paths elsewhere, such as a
    /// `--ca-file` the user named, are used as given).
    pub(crate) fn confine(self, path: &Path, follow_last: bool) -> std::io::Result<PathBuf> {
        let Some(root) = self.root else {
            return Ok(path.to_path_buf());
        };
        match path.strip_prefix(root) {
            Ok(rel) => resolve_in_root(root, rel, follow_last),
            Err(_) => Ok(path.to_path_buf()),
        }
    }

    /// Open `path` with `flags`, confined under `--root` when it lies there ([`open_in_root`]).
    pub(crate) fn open_confined(
        self,
        path: &Path,
        flags: rustix::fs::OFlags,
    ) -> std::io::Result<std::os::fd::OwnedFd> {
        if let Some(root) = self.root {
            if let Ok(rel) = path.strip_prefix(root) {
                return open_in_root(root, rel, flags);
            }
        }
        Ok(rustix::fs::open(
            path,
            flags | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?)
    }

    /// Open `path` (confined under `--root`) for reading if it is a regular file: opened
    /// non-blocking, so a FIFO with no writer or a device is refused at once by fstat instead of
    /// waited on. `/proc` and `/sys` files are regular files too.
    pub(crate) fn open_regular(self, path: &Path) -> std::io::Result<fs::File> {
        let file = fs::File::from(self.open_confined(
            path,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK,
        )?);
        if !file.metadata()?.is_file() {
            return Err(refuse(
                path,
                "is not a regular file — give a file, not a FIFO, device or directory",
            ));
        }
        Ok(file)
    }

    /// Read a whole regular file of at most `cap` bytes, confined under `--root`. A FIFO, a
    /// device or a directory is refused without blocking ([`Fs::open_regular`]); a file whose size
    /// is over the cap is refused before a byte is read (a sparse 400 MB file costs nothing), and
    /// one that grows past it (or a `/proc` file, whose size says 0) is read to cap + 1 bytes at
    /// most.
    pub(crate) fn read_file(self, path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
        let file = self.open_regular(path)?;
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

    /// [`Fs::read_file`] with [`MAX_FILE`], as UTF-8 text.
    pub(crate) fn read_text(self, path: &Path) -> std::io::Result<String> {
        let bytes = self.read_file(path, MAX_FILE)?;
        String::from_utf8(bytes).map_err(|_| refuse(path, "is not UTF-8 text"))
    }

    /// What `path` (confined under `--root`, links followed) is: the kernel's `stat` of the
    /// file the confined resolution reaches, opened `O_PATH` (nothing is read or waited on).
    pub(crate) fn stat(self, path: &Path) -> std::io::Result<rustix::fs::Stat> {
        let fd = self.open_confined(path, rustix::fs::OFlags::PATH)?;
        Ok(rustix::fs::fstat(&fd)?)
    }

    /// Whether `path` (confined under `--root`) is a directory.
    pub(crate) fn is_dir(self, path: &Path) -> bool {
        self.stat(path).is_ok_and(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory
        })
    }

    /// Whether `path` (confined under `--root`) exists, links followed.
    pub(crate) fn exists(self, path: &Path) -> bool {
        self.stat(path).is_ok()
    }

    /// The entries of the directory `path` (confined under `--root`): `path` joined with each
    /// name, and whether the entry itself is a symbolic link. Listed from the descriptor the
    /// confined open returned, so a link swapped in for the directory cannot redirect it.
    pub(crate) fn read_dir(self, path: &Path) -> std::io::Result<Vec<(PathBuf, bool)>> {
        use std::os::unix::ffi::OsStrExt;
        let fd = self.open_confined(
            path,
            rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::DIRECTORY
                | rustix::fs::OFlags::NONBLOCK,
        )?;
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(&fd)? {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let link = match entry.file_type() {
                rustix::fs::FileType::Symlink => true,
                rustix::fs::FileType::Unknown => rustix::fs::statat(
                    &fd,
                    entry.file_name(),
                    rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
                )
                .is_ok_and(|st| {
                    rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink
                }),
                _ => false,
            };
            out.push((path.join(std::ffi::OsStr::from_bytes(name)), link));
        }
        out.sort();
        Ok(out)
    }

    /// The metadata of what `path` leads to (links followed), confined under `--root`: the
    /// descriptor's `fstat`, opened `O_PATH`.
    pub(crate) fn metadata(self, path: &Path) -> std::io::Result<fs::Metadata> {
        fs::File::from(self.open_confined(path, rustix::fs::OFlags::PATH)?).metadata()
    }

    /// The metadata of `path` itself (a link is not followed), confined under `--root`.
    pub(crate) fn symlink_metadata(self, path: &Path) -> std::io::Result<fs::Metadata> {
        fs::symlink_metadata(self.confine(path, false)?)
    }

    /// The text of the link at `path`, confined under `--root` (the link itself is read).
    pub(crate) fn read_link(self, path: &Path) -> std::io::Result<PathBuf> {
        fs::read_link(self.confine(path, false)?)
    }

    /// Remove a file (or the link itself), confined under `--root`.
    pub(crate) fn remove_file(self, path: &Path) -> std::io::Result<()> {
        fs::remove_file(self.confine(path, false)?)
    }

    /// Remove an empty directory, confined under `--root`.
    pub(crate) fn remove_dir(self, path: &Path) -> std::io::Result<()> {
        fs::remove_dir(self.confine(path, false)?)
    }

    /// Create a secret (a private key) at `path`: a new file with mode 0600 from its first
    /// byte, renamed over whatever is there (a link is replaced, never written through), so
    /// neither a planted link nor an old file's mode can widen who reads it.
    pub(crate) fn write_secret(self, path: &Path, contents: &[u8]) -> anyhow::Result<()> {
        self.stage_with(path, contents, 0o600, false)?.commit()
    }

    /// Atomically replace `path` with `contents`. The owner, group and mode of an existing
    /// regular file are kept, else `new_mode` is used (a link at `path` is replaced by the
    /// file: its target's mode is not taken).
    pub(crate) fn write_atomic(
        self,
        path: &Path,
        contents: &[u8],
        new_mode: u32,
    ) -> anyhow::Result<()> {
        self.stage(path, contents, new_mode)?.commit()
    }

    /// Write `contents` to a temp file in `path`'s directory (confined under `--root`), with
    /// the mode (readable by its owner), owner and group of the file it will replace
    /// (`new_mode` for a new file).
    pub(crate) fn stage(
        self,
        path: &Path,
        contents: &[u8],
        new_mode: u32,
    ) -> anyhow::Result<Staged> {
        self.stage_with(path, contents, new_mode, true)
    }

    fn stage_with(
        self,
        path: &Path,
        contents: &[u8],
        new_mode: u32,
        keep_existing: bool,
    ) -> anyhow::Result<Staged> {
        let target = self
            .confine(path, false)
            .map_err(|e| permission_hint(e, path))?;
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let existing = fs::symlink_metadata(&target)
            .ok()
            .filter(|m| keep_existing && m.is_file());
        // Never a mode its owner cannot read (as batch::BatchDir::stage): what we write is
        // there to be read.
        let mode = existing
            .as_ref()
            .map(|m| (m.permissions().mode() & 0o7777) | 0o400)
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

    /// Create `dir` and its parents with mode 0755, returning the directories created
    /// (outermost first) so that an undo can remove exactly those.
    pub(crate) fn create_dirs(self, dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
        let dir = self
            .confine(dir, true)
            .map_err(|e| permission_hint(e, dir))?;
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

/// Hold an exclusive lock on `root` (the directory itself, so no lock file is left
/// behind) for the whole read-modify-write of a `trust` or `untrust`: the manifest and the
/// TOML files shared between endpoints are read, planned and written under it, so runs on
/// one root queue instead of losing each other's entries. Released when the file drops
/// (also on kill: flock belongs to the open file).
pub(crate) fn lock_root(root: &Path) -> anyhow::Result<fs::File> {
    let handle = open_root(root)?;
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

/// `--root` opened as a directory (created when missing): a FIFO or a file planted as the
/// root is refused at once (O_DIRECTORY, non-blocking), naming it.
pub(crate) fn open_root(root: &Path) -> anyhow::Result<fs::File> {
    if !root.exists() {
        Fs::under(root).create_dirs(root)?;
    }
    fs::OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::NONBLOCK).bits() as i32)
        .open(root)
        .with_context(|| format!("cannot open --root {} to lock it", root.display()))
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

/// What one path of [`confinement_holds`]'s tree is.
#[cfg(any(test, fuzzing))]
#[derive(Debug, Clone)]
pub(crate) enum Spot {
    Dir,
    File,
    /// A symbolic link with this text; `OUT` in it stands for a directory outside the root.
    Link(String),
}

/// The resolver's promise, checked on one tree (paths relative to a fresh root, made in
/// order, failures to make one ignored) and queries (`OUT` as in [`Spot::Link`], and whether
/// the last link is followed): it never yields a path the kernel would resolve outside the
/// root (what exists of it lies under the root once the OS follows its links), and where
/// the kernel's own `openat2(RESOLVE_IN_ROOT)` resolves a query, it reaches the same file.
/// Panics when either breaks (the fuzz target `resolver` and the property test call it).
#[cfg(any(test, fuzzing))]
pub(crate) fn confinement_holds(nodes: &[(String, Spot)], queries: &[(String, bool)]) {
    use std::os::unix::fs::MetadataExt;
    let root = tempfile::tempdir().expect("root");
    let outside = tempfile::tempdir().expect("outside");
    let r = fs::canonicalize(root.path()).expect("root");
    let out = fs::canonicalize(outside.path()).expect("outside");
    for name in ["a", "b", "c"] {
        fs::create_dir_all(out.join(name).join(name)).expect("outside tree");
    }
    let expand = |text: &str| text.replace("OUT", &out.to_string_lossy());
    for (at, what) in nodes {
        let path = r.join(at.trim_start_matches('/'));
        if !path.starts_with(&r) || at.split('/').any(|c| c == "..") {
            continue;
        }
        if let Some(parent) = path.parent() {
            let _ = fs::create_dir_all(parent);
        }
        let _ = match what {
            Spot::Dir => fs::create_dir(&path),
            Spot::File => fs::write(&path, b"x"),
            Spot::Link(text) => std::os::unix::fs::symlink(expand(text), &path),
        };
    }
    let dir = rustix::fs::open(&r, rustix::fs::OFlags::PATH, rustix::fs::Mode::empty())
        .expect("open root");
    for (query, follow) in queries {
        let query = expand(query);
        let Ok(got) = resolve_in_root(&r, Path::new(&query), *follow) else {
            continue;
        };
        assert!(got.starts_with(&r), "{query:?} -> {got:?}");
        assert!(
            got.components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_))),
            "{query:?} -> {got:?} is not plain"
        );
        // What the OS makes of it: the longest part that exists, links followed (the last
        // one too when the caller follows it).
        let mut existing = got.as_path();
        loop {
            let meta = if *follow || existing != got {
                fs::metadata(existing)
            } else {
                fs::symlink_metadata(existing)
            };
            if meta.is_ok() || existing == r {
                break;
            }
            match existing.parent() {
                Some(parent) => existing = parent,
                None => break,
            }
        }
        let real = if existing == got && !*follow && got != r {
            existing.parent().and_then(|p| fs::canonicalize(p).ok())
        } else {
            fs::canonicalize(existing).ok()
        };
        assert!(
            real.as_ref().is_some_and(|real| real.starts_with(&r)),
            "{query:?} -> {got:?}, which the OS resolves to {real:?} outside the root; tree: {nodes:?}"
        );
        // The kernel as the oracle.
        let flags = rustix::fs::OFlags::PATH
            | if *follow {
                rustix::fs::OFlags::empty()
            } else {
                rustix::fs::OFlags::NOFOLLOW
            };
        if let Ok(fd) = rustix::fs::openat2(
            &dir,
            query.as_str(),
            flags,
            rustix::fs::Mode::empty(),
            rustix::fs::ResolveFlags::IN_ROOT,
        ) {
            let kernel = rustix::fs::fstat(&fd).expect("fstat");
            let ours = fs::symlink_metadata(&got);
            assert!(
                ours.as_ref()
                    .is_ok_and(|m| m.ino() == kernel.st_ino && m.dev() == kernel.st_dev),
                "{query:?}: the kernel opens inode {}, the resolver says {got:?} ({ours:?}); tree: {nodes:?}",
                kernel.st_ino
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        Fs::REAL.write_atomic(&path, b"one", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        Fs::REAL.write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        // Never a mode its owner cannot read.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o040)).unwrap();
        Fs::REAL.write_atomic(&path, b"three", 0o600).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o440
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
        // Back out of a directory that does not exist (`nothing/..`): the links after it are
        // followed again, not returned as text the kernel would follow out of the root.
        assert_eq!(
            resolve_in_root(r, Path::new("/nothing/../etc/docker/certs.d/h"), true).unwrap(),
            r.join(outside.path().strip_prefix("/").unwrap()).join("h")
        );
        // A loop is an error, not a hang.
        std::os::unix::fs::symlink("loop", r.join("loop")).unwrap();
        assert!(resolve_in_root(r, Path::new("/loop/x"), true).is_err());
    }

    /// One node of a random tree: where (components from a small alphabet, so that paths
    /// meet) and what it is.
    #[derive(Debug, Clone)]
    enum Node {
        Dir,
        File,
        Link(String),
    }

    fn component() -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(vec!["a", "b", "c", "..", "."])
    }

    /// A link's text or a query: relative or absolute, `..` and `.` included; `OUT` stands
    /// for the absolute path of a directory outside the root.
    fn link_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        (
            proptest::sample::select(vec!["", "/", "OUT/", "../../../../"]),
            proptest::collection::vec(component(), 0..4),
        )
            .prop_map(|(lead, parts)| format!("{lead}{}", parts.join("/")))
    }

    fn node() -> impl proptest::strategy::Strategy<Value = (Vec<&'static str>, Node)> {
        use proptest::prelude::*;
        (
            proptest::collection::vec(proptest::sample::select(vec!["a", "b", "c"]), 1..4),
            prop_oneof![
                Just(Node::Dir),
                Just(Node::File),
                link_text().prop_map(Node::Link),
                link_text().prop_map(Node::Link),
            ],
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// On a random tree of links (absolute, relative, climbing, looping, pointing out),
        /// the resolver never yields a path the kernel would resolve outside the root: what
        /// exists of it lies under the root once the OS follows its links. Where the kernel's
        /// own `openat2(RESOLVE_IN_ROOT)` resolves a path, the resolver reaches the same file.
        #[test]
        fn the_resolver_never_leaves_the_root(
            nodes in proptest::collection::vec(node(), 0..10),
            queries in proptest::collection::vec((link_text(), proptest::bool::ANY), 1..8),
        ) {
            let nodes: Vec<(String, Spot)> = nodes
                .into_iter()
                .map(|(at, what)| {
                    (at.join("/"), match what {
                        Node::Dir => Spot::Dir,
                        Node::File => Spot::File,
                        Node::Link(text) => Spot::Link(text),
                    })
                })
                .collect();
            let queries: Vec<(String, bool)> = queries;
            confinement_holds(&nodes, &queries);
        }
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
        let err = Fs::REAL.read_file(&fifo, MAX_FILE).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert!(Fs::REAL
            .read_file(Path::new("/dev/zero"), MAX_FILE)
            .is_err());
        assert!(Fs::REAL.read_file(dir.path(), MAX_FILE).is_err());
        let big = dir.path().join("big");
        fs::write(&big, vec![b'a'; 100]).unwrap();
        assert!(Fs::REAL
            .read_file(&big, 99)
            .unwrap_err()
            .to_string()
            .contains("larger than"));
        assert_eq!(Fs::REAL.read_file(&big, 100).unwrap().len(), 100);
    }

    #[test]
    fn secrets_are_fresh_0600_files_not_links() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"public").unwrap();
        fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
        let key = dir.path().join("ca.key");
        std::os::unix::fs::symlink(&victim, &key).unwrap();
        Fs::REAL.write_secret(&key, b"secret").unwrap();
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
        Fs::REAL.write_secret(&key, b"secret2").unwrap();
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn an_fs_confines_the_paths_under_its_root_only() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let r = root.path();
        let staged_copy = r.join(outside.path().strip_prefix("/").unwrap());
        fs::create_dir_all(&staged_copy).unwrap();
        fs::write(staged_copy.join("secret"), b"staged").unwrap();
        fs::write(outside.path().join("secret"), b"host").unwrap();
        std::os::unix::fs::symlink(outside.path(), r.join("link")).unwrap();
        let through_link = r.join("link/secret");
        // Through a link planted under the root: the root's copy, never the host's.
        let staged = Fs::under(r);
        assert_eq!(
            staged.read_file(&through_link, MAX_FILE).unwrap(),
            b"staged"
        );
        assert_eq!(staged.read_link(&r.join("link")).unwrap(), outside.path());
        // A path elsewhere (a file named on the command line) is used as given.
        let given = outside.path().join("secret");
        assert_eq!(staged.read_file(&given, MAX_FILE).unwrap(), b"host");
        // No root, or `/`: nothing is confined.
        for unconfined in [Fs::REAL, Fs::under(Path::new("/"))] {
            assert_eq!(
                unconfined.read_file(&through_link, MAX_FILE).unwrap(),
                b"host"
            );
        }
    }

    #[test]
    fn create_dirs_reports_only_what_it_made() {
        let dir = tempfile::tempdir().unwrap();
        let made = Fs::REAL.create_dirs(&dir.path().join("a/b/c")).unwrap();
        assert_eq!(made.len(), 3);
        assert!(Fs::REAL
            .create_dirs(&dir.path().join("a/b/c"))
            .unwrap()
            .is_empty());
    }
}
