//! An advisory lock on a directory (flock(2) on the directory itself), so two of our
//! processes never interleave a read-modify-write of the files in it, and no lock file is
//! left behind. Docker does not take it; `docker_config` re-reads before each rename for that.

use std::fs::File;
use std::path::Path;

use anyhow::Context;
use rustix::fs::{flock, FlockOperation};

/// Held until dropped (closing the descriptor releases the lock).
pub(crate) struct DirLock {
    _dir: File,
}

impl DirLock {
    pub(crate) fn exclusive(dir: &Path) -> anyhow::Result<DirLock> {
        let handle =
            File::open(dir).with_context(|| format!("cannot open {} to lock it", dir.display()))?;
        flock(&handle, FlockOperation::LockExclusive)
            .with_context(|| format!("cannot lock {}", dir.display()))?;
        Ok(DirLock { _dir: handle })
    }
}
