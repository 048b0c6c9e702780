//! Many files replaced at once, durably, at the disk's speed (`rewrite` over a tree).
//!
//! One file at a time costs two fsyncs (the file, then its directory) and a path resolution
//! per file. A batch instead:
//! 1. opens each directory once ([`BatchDir::open`], confined under `--root`) and works
//!    relative to its descriptor (openat, renameat): no path is resolved again per file,
//!    and a link swapped in for the directory meanwhile cannot redirect a write;
//! 2. writes every temporary file ([`BatchDir::stage`]) with the mode, owner and group of
//!    the file it replaces;
//! 3. makes them durable with one `syncfs(2)` per filesystem, or an fsync each when there
//!    are few ([`commit_batch`]);
//! 4. renames them over their targets;
//! 5. makes the renames durable with one fsync per directory.
//!
//! A file that cannot be written stops nothing else; it is reported, its temporary file
//! removed, and the file it would have replaced left as it was.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use super::{permission_hint, Fs};

/// At most this many files are made durable one fsync each; more, one syncfs per
/// filesystem.
const FEW: usize = 16;

/// A directory opened once for a batch.
#[derive(Debug)]
pub(crate) struct BatchDir {
    fd: OwnedFd,
    /// Its real path, for messages.
    path: PathBuf,
    /// The filesystem it is on (`st_dev`).
    dev: u64,
}

impl BatchDir {
    /// Open `dir` (confined by `fs`, links followed as the root sees them).
    pub(crate) fn open(fs: Fs<'_>, dir: &Path) -> anyhow::Result<Arc<BatchDir>> {
        let real = fs.confine(dir, true).map_err(|e| permission_hint(e, dir))?;
        // Opened by the kernel's confined resolution where it has it, not by `real`.
        let fd = fs
            .open_confined(dir, OFlags::RDONLY | OFlags::DIRECTORY)
            .map_err(|e| permission_hint(e, &real))?;
        let dev = rustix::fs::fstat(&fd)
            .map_err(|e| permission_hint(e.into(), &real))?
            .st_dev;
        Ok(Arc::new(BatchDir {
            fd,
            path: real,
            dev,
        }))
    }

    /// Write `contents` to a new temporary file beside `name`, with the mode (readable by
    /// its owner), owner and group of the regular file `name` is (`new_mode` for a new
    /// file); not yet durable and not yet in place: [`commit_batch`] does both.
    pub(crate) fn stage(
        self: &Arc<Self>,
        name: &OsStr,
        contents: &[u8],
        new_mode: u32,
    ) -> anyhow::Result<StagedFile> {
        let target = self.path.join(name);
        let existing = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)
            .ok()
            .filter(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile);
        // The existing file's mode, but never one its owner cannot read: what we write is
        // there to be read (a `trust --force` over a CA made unreadable must fix it).
        let mode = existing
            .as_ref()
            .map_or(new_mode, |st| (st.st_mode & 0o7777) | 0o400);
        let (temp, fd) = self.create_temp(mode & 0o777, &target)?;
        let staged = StagedFile {
            dir: Arc::clone(self),
            temp,
            name: name.to_os_string(),
            placed: false,
        };
        let mut file = File::from(fd);
        file.write_all(contents)
            .with_context(|| format!("cannot write {}", target.display()))?;
        let own = rustix::fs::fstat(&file).ok();
        if let Some(st) = &existing {
            if own.is_none_or(|o| o.st_uid != st.st_uid || o.st_gid != st.st_gid) {
                rustix::fs::fchown(
                    &file,
                    Some(rustix::fs::Uid::from_raw(st.st_uid)),
                    Some(rustix::fs::Gid::from_raw(st.st_gid)),
                )
                .map_err(std::io::Error::from)
                .with_context(|| format!("cannot keep the owner of {}", target.display()))?;
            }
        }
        // The umask may have narrowed the mode given at creation, and chown clears the
        // setuid/setgid bits: set it last.
        rustix::fs::fchmod(&file, Mode::from_raw_mode(mode))
            .map_err(std::io::Error::from)
            .with_context(|| format!("cannot set the mode of {}", target.display()))?;
        Ok(staged)
    }

    /// A new file `.dcosreg-<random>.tmp` in this directory, created exclusively.
    fn create_temp(&self, mode: u32, target: &Path) -> anyhow::Result<(OsString, OwnedFd)> {
        use ring::rand::SecureRandom;
        let rng = ring::rand::SystemRandom::new();
        for _ in 0..16 {
            let mut bytes = [0u8; 8];
            rng.fill(&mut bytes)
                .map_err(|_| anyhow!("no randomness for a temporary file name"))?;
            let temp = OsString::from(format!(".dcosreg-{:016x}.tmp", u64::from_le_bytes(bytes)));
            match rustix::fs::openat(
                &self.fd,
                &temp,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(mode),
            ) {
                Ok(fd) => return Ok((temp, fd)),
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(permission_hint(e.into(), target)),
            }
        }
        Err(anyhow!(
            "cannot create a temporary file beside {}",
            target.display()
        ))
    }
}

/// A complete new content in a temporary file, not yet durable nor in place. Dropped
/// before [`commit_batch`] put it in place, the temporary file is removed.
#[derive(Debug)]
pub(crate) struct StagedFile {
    dir: Arc<BatchDir>,
    temp: OsString,
    name: OsString,
    placed: bool,
}

impl StagedFile {
    fn target(&self) -> PathBuf {
        self.dir.path.join(&self.name)
    }

    fn fsync(&self) -> std::io::Result<()> {
        let fd = rustix::fs::openat(
            &self.dir.fd,
            &self.temp,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        rustix::fs::fsync(&fd)?;
        Ok(())
    }

    fn place(&mut self) -> std::io::Result<()> {
        rustix::fs::renameat(&self.dir.fd, &self.temp, &self.dir.fd, &self.name)?;
        self.placed = true;
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.placed {
            let _ = rustix::fs::unlinkat(&self.dir.fd, &self.temp, AtFlags::empty());
        }
    }
}

/// Make every staged file durable, rename each over its target, and make the renames
/// durable: the failures, by key (a file that failed is left as it was).
pub(crate) fn commit_batch<K>(files: Vec<(K, StagedFile)>) -> Vec<(K, anyhow::Error)> {
    let mut failures = Vec::new();
    let mut durable: Vec<(K, StagedFile)> = Vec::with_capacity(files.len());
    if files.len() <= FEW {
        for (key, file) in files {
            match file.fsync() {
                Ok(()) => durable.push((key, file)),
                Err(e) => failures.push((key, permission_hint(e, &file.target()))),
            }
        }
    } else {
        // One syncfs per filesystem; where it fails, an fsync per file.
        let mut synced: Vec<(u64, bool)> = Vec::new();
        for (key, file) in files {
            let dev = file.dir.dev;
            let ok = match synced.iter().find(|(d, _)| *d == dev) {
                Some((_, ok)) => *ok,
                None => {
                    let ok = rustix::fs::syncfs(&file.dir.fd).is_ok();
                    synced.push((dev, ok));
                    ok
                }
            };
            match if ok { Ok(()) } else { file.fsync() } {
                Ok(()) => durable.push((key, file)),
                Err(e) => failures.push((key, permission_hint(e, &file.target()))),
            }
        }
    }
    let mut dirs: Vec<Arc<BatchDir>> = Vec::new();
    for (key, mut file) in durable {
        match file.place() {
            Ok(()) => {
                if !dirs.iter().any(|d| Arc::ptr_eq(d, &file.dir)) {
                    dirs.push(Arc::clone(&file.dir));
                }
            }
            Err(e) => failures.push((key, permission_hint(e, &file.target()))),
        }
    }
    // A rename that is not durable is not worth failing the command for (as sync_dir).
    for dir in dirs {
        let _ = rustix::fs::fsync(&dir.fd);
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_batch_replaces_files_keeps_modes_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        for many in [3usize, FEW + 5] {
            let names: Vec<String> = (0..many).map(|i| format!("f{i}")).collect();
            for (i, name) in names.iter().enumerate() {
                let path = dir.path().join(name);
                std::fs::write(&path, "old").unwrap();
                let mode = if i % 2 == 0 { 0o640 } else { 0o600 };
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            let handle = BatchDir::open(Fs::REAL, dir.path()).unwrap();
            let staged: Vec<(usize, StagedFile)> = names
                .iter()
                .enumerate()
                .map(|(i, n)| (i, handle.stage(OsStr::new(n), b"new", 0o644).unwrap()))
                .collect();
            // Nothing is in place before the commit.
            assert_eq!(std::fs::read(dir.path().join("f0")).unwrap(), b"old");
            assert!(commit_batch(staged).is_empty());
            for (i, name) in names.iter().enumerate() {
                let path = dir.path().join(name);
                assert_eq!(std::fs::read(&path).unwrap(), b"new");
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, if i % 2 == 0 { 0o640 } else { 0o600 }, "{name}");
            }
            let leftovers: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(".dcosreg-"))
                .collect();
            assert!(leftovers.is_empty(), "{leftovers:?}");
        }
        // A file dropped before the commit leaves nothing behind.
        let handle = BatchDir::open(Fs::REAL, dir.path()).unwrap();
        drop(handle.stage(OsStr::new("f0"), b"never", 0o644).unwrap());
        assert_eq!(std::fs::read(dir.path().join("f0")).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), FEW + 5);
    }
}
