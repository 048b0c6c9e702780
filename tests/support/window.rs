//! Catching a process inside a write window: [`Inotify`] (inotify(7) on one directory,
//! through `libc`, every wait bounded) reports the moment a file appears, and
//! [`Stopped`] holds the process with SIGSTOP until it is let go (SIGCONT, also on drop,
//! so a failing test never leaves a stopped process behind).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// One inotify event of the watched directory: `name` is empty for the directory itself.
#[derive(Debug, Clone)]
pub struct Event {
    pub mask: u32,
    pub name: String,
}

impl Event {
    pub fn is(&self, bits: u32) -> bool {
        self.mask & bits != 0
    }
}

/// An inotify instance watching one directory.
pub struct Inotify {
    fd: OwnedFd,
}

impl Inotify {
    /// Watch `dir` for the events in `mask` (`libc::IN_CREATE | …`).
    pub fn watch(dir: &Path, mask: u32) -> Inotify {
        // SAFETY: inotify_init1 takes no pointers; a non-negative result is a new fd we own.
        let raw = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        assert!(
            raw >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).expect("no NUL in path");
        // SAFETY: `path` is a valid NUL-terminated string for the call's duration.
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) };
        assert!(
            wd >= 0,
            "inotify_add_watch {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        );
        Inotify { fd }
    }

    /// The events queued now, waiting at most `limit` for the first one (empty: none came).
    pub fn wait(&self, limit: Duration) -> Vec<Event> {
        let mut poll = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = i32::try_from(limit.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd for the call's duration.
        let ready = unsafe { libc::poll(&mut poll, 1, millis) };
        if ready <= 0 {
            return Vec::new();
        }
        self.queued()
    }

    /// The events queued now, without waiting.
    pub fn queued(&self) -> Vec<Event> {
        let mut events = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
            let got =
                unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            let Ok(got) = usize::try_from(got) else {
                // EAGAIN: the queue is empty.
                return events;
            };
            let mut at = 0;
            // struct inotify_event { int wd; u32 mask; u32 cookie; u32 len; char name[len]; }
            while at + 16 <= got {
                let word = |i: usize| {
                    u32::from_ne_bytes(buf[at + i..at + i + 4].try_into().expect("4 bytes"))
                };
                let (mask, len) = (word(4), word(12) as usize);
                let name = &buf[at + 16..(at + 16 + len).min(got)];
                let name = name.split(|b| *b == 0).next().unwrap_or_default();
                events.push(Event {
                    mask,
                    name: String::from_utf8_lossy(name).into_owned(),
                });
                at += 16 + len;
            }
        }
    }

    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

/// The state letter of `/proc/PID/stat` (`R`, `S`, `D`, `T`, `Z`, …).
pub fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the state follows the last `)`.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// A process held with SIGSTOP; SIGCONT on [`Stopped::resume`] or drop.
pub struct Stopped {
    pid: u32,
    resumed: bool,
}

impl Stopped {
    /// SIGSTOP `pid` (a child of this test) and wait, at most `limit`, until every thread
    /// of it has stopped. `None`: it exited before it could be stopped.
    pub fn stop(pid: u32, limit: Duration) -> Option<Stopped> {
        let raw = i32::try_from(pid).expect("pid");
        // SAFETY: kill(2) of our own unreaped child.
        if unsafe { libc::kill(raw, libc::SIGSTOP) } != 0 {
            return None;
        }
        let stopped = Stopped {
            pid,
            resumed: false,
        };
        let deadline = Instant::now() + limit;
        loop {
            match process_state(pid) {
                Some('T' | 't') => return Some(stopped),
                Some('Z') | None => return None,
                _ if Instant::now() >= deadline => {
                    panic!("pid {pid} did not stop within {limit:?}")
                }
                _ => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }

    /// SIGCONT.
    pub fn resume(mut self) {
        self.send_cont();
    }

    fn send_cont(&mut self) {
        if !self.resumed {
            self.resumed = true;
            // SAFETY: kill(2) of our own unreaped child.
            unsafe { libc::kill(i32::try_from(self.pid).expect("pid"), libc::SIGCONT) };
        }
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        self.send_cont();
    }
}

/// A child process killed (SIGKILL, which also ends a stopped one) and reaped on drop,
/// by its own PID, when the test did not wait for it: a failing assertion never leaves it.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
