//! An advisory lock on a directory (flock(2) on the directory itself), so two of our
//! processes never interleave a read-modify-write of the files in it, and no lock file is
//! left behind. Docker does not take it; `docker_config` re-reads before each rename for that.
//!
//! Within one process the lock is re-entrant: `login` holds the data directory's lock while
//! it edits config.json under the Docker config directory's, and `DOCKER_CONFIG` may name
//! the data directory itself. flock(2) would make the second open of that directory wait
//! for the first for ever.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use rustix::fs::{flock, FlockOperation};

/// The directories this process holds locked (canonical paths).
static HELD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Held until dropped (closing the descriptor releases the lock). A lock this process
/// already holds is taken again as a no-op guard.
pub(crate) struct DirLock {
    held: Option<(File, PathBuf)>,
}

impl DirLock {
    #[allow(clippy::disallowed_methods)] // the user's Docker config and credentials store, not paths under --root
    pub(crate) fn exclusive(dir: &Path) -> anyhow::Result<DirLock> {
        let handle =
            File::open(dir).with_context(|| format!("cannot open {} to lock it", dir.display()))?;
        let canonical = dir
            .canonicalize()
            .with_context(|| format!("cannot open {} to lock it", dir.display()))?;
        let mut held = HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if held.contains(&canonical) {
            return Ok(DirLock { held: None });
        }
        flock(&handle, FlockOperation::LockExclusive)
            .with_context(|| format!("cannot lock {}", dir.display()))?;
        held.push(canonical.clone());
        Ok(DirLock {
            held: Some((handle, canonical)),
        })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if let Some((_, canonical)) = self.held.take() {
            let mut held = HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            held.retain(|dir| *dir != canonical);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_directory_can_be_locked_again_by_this_process() {
        let dir = tempfile::tempdir().unwrap();
        let outer = DirLock::exclusive(dir.path()).unwrap();
        // Another spelling of the same directory: no wait.
        let inner = DirLock::exclusive(&dir.path().join(".")).unwrap();
        drop(inner);
        drop(outer);
        let again = DirLock::exclusive(dir.path()).unwrap();
        assert!(again.held.is_some());
    }
}
