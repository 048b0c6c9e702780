//! The daemons running on this host, for the stores' restart rules: which `dockerd`,
//! `containerd` or `buildkitd` processes exist, when each started, and whether it reads
//! the files we changed (the same file seen through its `/proc/PID/root`, so a daemon in
//! another mount namespace, or a staged `--root` no daemon reads, needs no restart).
//!
//! Start times come from `/proc/PID/stat` field 22 (clock ticks after boot) against
//! `/proc/uptime`, both to 10 ms: the age of the process, not a wall-clock boot time
//! rounded to the second (proc(5)). Linux reports these ticks in USER_HZ, 100 on every
//! architecture Docker ships for.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::fsutil::Fs;

/// proc(5): `starttime` is in clock ticks, `sysconf(_SC_CLK_TCK)`, which is USER_HZ.
const USER_HZ: f64 = 100.0;

/// A change no older than this before a daemon started may still have been missed by it
/// (both clocks are read to 10 ms): say restart rather than promise too much.
const MARGIN: Duration = Duration::from_millis(50);

/// One restart a store asks for (docs/cli.md, `trust`'s and `untrust`'s `restart`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Restart {
    /// `docker`, `containerd`, `buildkit`.
    pub(crate) service: &'static str,
    pub(crate) why: String,
    pub(crate) command: String,
}

impl Restart {
    pub(crate) fn line(&self) -> String {
        restart_line(self.service, &self.why, &self.command)
    }
}

/// How a restart reads in text: `restart needed: SERVICE — WHY (run: COMMAND)`, here and in
/// `rollout`'s line for an agent whose own trust asked for it.
pub(crate) fn restart_line(service: &str, why: &str, command: &str) -> String {
    format!("restart needed: {service} — {why} (run: {command})")
}

/// A running daemon.
#[derive(Debug, Clone)]
pub(crate) struct Daemon {
    pub(crate) pid: u32,
    pub(crate) started: SystemTime,
}

impl Daemon {
    /// Did it start before `when` (allowing for the clocks' resolution)?
    pub(crate) fn predates(&self, when: SystemTime) -> bool {
        self.started < when + MARGIN
    }

    /// Whether this daemon sees `ours` (a path under `--root`) as its `daemon_path`: the
    /// nearest existing ancestor of both is the same inode. A daemon we may not look into
    /// (another user's) counts as reading it when ROOT is `/`.
    pub(crate) fn reads(
        &self,
        fs: Fs<'_>,
        ours: &Path,
        daemon_path: &Path,
        real_root: bool,
    ) -> bool {
        let base = PathBuf::from(format!("/proc/{}/root", self.pid));
        let mut ours = ours.to_path_buf();
        let mut rel = daemon_path
            .strip_prefix("/")
            .unwrap_or(daemon_path)
            .to_path_buf();
        loop {
            match (fs.metadata(&ours), fs.metadata(&base.join(&rel))) {
                (Ok(a), Ok(b)) => return a.dev() == b.dev() && a.ino() == b.ino(),
                (Ok(_), Err(e)) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return real_root
                }
                (Err(_), Err(_)) => {}
                (Ok(_), Err(_)) | (Err(_), Ok(_)) => return false,
            }
            if rel.as_os_str().is_empty() || !ours.pop() {
                return false;
            }
            rel.pop();
        }
    }

    /// The value of `flag` on its command line (`--flag VALUE`, `--flag=VALUE`, or a short
    /// alias given the same way), e.g. containerd's `--config`.
    pub(crate) fn arg(&self, fs: Fs<'_>, names: &[&str]) -> Option<String> {
        let raw = read_proc(
            fs,
            Path::new(&format!("/proc/{}/cmdline", self.pid)),
            64 * 1024,
        )
        .ok()?;
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            for name in names {
                if arg == name {
                    return iter.next().cloned();
                }
                if let Some(value) = arg.strip_prefix(&format!("{name}=")) {
                    return Some(value.to_string());
                }
            }
        }
        None
    }

    /// `HH:MM:SS UTC` of its start, for people.
    pub(crate) fn started_text(&self) -> String {
        let secs = self
            .started
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let day = secs % 86_400;
        format!(
            "{:02}:{:02}:{:02} UTC",
            day / 3600,
            (day % 3600) / 60,
            day % 60
        )
    }
}

/// Every running process whose command name is `comm` (`/proc/PID/comm`).
pub(crate) fn daemons(fs: Fs<'_>, comm: &str) -> Vec<Daemon> {
    let Ok(entries) = fs.read_dir(Path::new("/proc")) else {
        return Vec::new();
    };
    let uptime = uptime(fs);
    let now = SystemTime::now();
    let mut out = Vec::new();
    for (dir, _) in entries {
        let Some(pid) = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let name = read_proc(fs, &dir.join("comm"), 64).unwrap_or_default();
        if String::from_utf8_lossy(&name).trim_end() != comm {
            continue;
        }
        let (Some(uptime), Some(ticks)) = (uptime, start_ticks(fs, &dir)) else {
            continue;
        };
        let age = (uptime - ticks / USER_HZ).max(0.0);
        let started = now
            .checked_sub(Duration::from_secs_f64(age))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        out.push(Daemon { pid, started });
    }
    out.sort_by_key(|d| d.pid);
    out
}

/// A small /proc file, read to at most `cap` bytes.
fn read_proc(fs: Fs<'_>, path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    fs.open_regular(path)?.take(cap).read_to_end(&mut out)?;
    Ok(out)
}

/// Seconds since boot, from `/proc/uptime`.
fn uptime(fs: Fs<'_>) -> Option<f64> {
    let text = read_proc(fs, Path::new("/proc/uptime"), 128).ok()?;
    String::from_utf8_lossy(&text)
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Field 22 of `/proc/PID/stat`, counted after the `(comm)` field, which may hold spaces.
fn start_ticks(fs: Fs<'_>, dir: &Path) -> Option<f64> {
    let stat = read_proc(fs, &dir.join("stat"), 4096).ok()?;
    let stat = String::from_utf8_lossy(&stat);
    let after = &stat[stat.rfind(')')? + 1..];
    // After ")" come field 3 (state) onwards: starttime is field 22, the 20th here.
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The newest change among `paths` that exist, by their change time (ctime), of the entry
/// itself and of what a link leads to: a directory changes when an entry in it is created,
/// renamed or removed. Not the modification time: `cp -a`, `rsync -a` and `tar -x` copy it
/// from the source, so files put in place after a daemon started can carry a time long
/// before it, while their ctime is set by the kernel when they appear here (and cannot be
/// set back without changing the clock).
pub(crate) fn newest_change(fs: Fs<'_>, paths: &[PathBuf]) -> Option<SystemTime> {
    paths
        .iter()
        .flat_map(|p| [fs.symlink_metadata(p), fs.metadata(p)])
        .filter_map(|m| change_time(&m.ok()?))
        .max()
}

/// stat(2)'s `st_ctim`.
fn change_time(meta: &std::fs::Metadata) -> Option<SystemTime> {
    let secs = u64::try_from(meta.ctime()).ok()?;
    let nanos = u32::try_from(meta.ctime_nsec()).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// How to restart `unit` on this host: systemd when it runs, else the SysV wrapper.
pub(crate) fn restart_command(fs: Fs<'_>, unit: &str) -> String {
    if fs.is_dir(Path::new("/run/systemd/system")) {
        format!("systemctl restart {unit}")
    } else {
        format!("service {unit} restart")
    }
}

/// One entry per service (the stores may each ask for the same daemon), in the order to run
/// them: containerd before the dockerd that uses it.
pub(crate) fn merge(restarts: Vec<Restart>) -> Vec<Restart> {
    let mut out: Vec<Restart> = Vec::new();
    for restart in restarts {
        match out.iter_mut().find(|r| r.service == restart.service) {
            Some(existing) if !existing.why.contains(&restart.why) => {
                existing.why = format!("{}; {}", existing.why, restart.why);
            }
            Some(_) => {}
            None => out.push(restart),
        }
    }
    out.sort_by_key(|r| {
        ["containerd", "docker", "buildkit"]
            .iter()
            .position(|s| *s == r.service)
    });
    out
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_with_a_start_time_in_the_past() {
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
        let me = std::process::id();
        let found = daemons(Fs::REAL, comm.trim_end());
        let this = found.iter().find(|d| d.pid == me).expect("found by comm");
        let age = SystemTime::now().duration_since(this.started).unwrap();
        assert!(age < Duration::from_secs(3600), "{age:?}");
        assert!(this.predates(SystemTime::now()));
        assert!(!this.predates(this.started - Duration::from_secs(1)));
    }

    #[test]
    fn a_process_reads_its_own_root() {
        let me = Daemon {
            pid: std::process::id(),
            started: SystemTime::now(),
        };
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("a/b/c");
        assert!(me.reads(Fs::REAL, &missing, &missing, true));
        let other = tempfile::tempdir().unwrap();
        assert!(!me.reads(Fs::REAL, dir.path(), other.path(), true));
    }

    #[test]
    fn command_line_flags_are_read() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30; true", "sh", "--config", "/x", "--root=/y"])
            .spawn()
            .unwrap();
        // Until the child has exec'd, its cmdline is still the test binary's (fork copies
        // it): wait, bounded, for the shell's own arguments.
        let cmdline = format!("/proc/{}/cmdline", child.id());
        let limit = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !std::fs::read(&cmdline).is_ok_and(|c| c.ends_with(b"--root=/y\0"))
            && std::time::Instant::now() < limit
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let daemon = Daemon {
            pid: child.id(),
            started: SystemTime::now(),
        };
        let (config, root, none) = (
            daemon.arg(Fs::REAL, &["--config"]),
            daemon.arg(Fs::REAL, &["--root"]),
            daemon.arg(Fs::REAL, &["--state"]),
        );
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(config.as_deref(), Some("/x"));
        assert_eq!(root.as_deref(), Some("/y"));
        assert_eq!(none, None);
    }

    #[test]
    fn a_change_is_its_ctime_not_a_copied_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.crt");
        std::fs::write(&file, "x").unwrap();
        let before = SystemTime::now() - Duration::from_secs(1);
        // What cp -a does: the source's mtime, set on the new file.
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_500_000_000);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), old);
        let changed = newest_change(Fs::REAL, &[file, dir.path().join("missing")]).unwrap();
        assert!(changed > before, "{changed:?}");
        assert_eq!(newest_change(Fs::REAL, &[dir.path().join("missing")]), None);
    }

    #[test]
    fn restarts_merge_per_service() {
        let r = |s, w: &str| Restart {
            service: s,
            why: w.into(),
            command: format!("systemctl restart {s}"),
        };
        let merged = merge(vec![
            r("docker", "a"),
            r("docker", "b"),
            r("containerd", "c"),
        ]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].service, "containerd");
        assert_eq!(merged[1].why, "a; b");
    }
}
