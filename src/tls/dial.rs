//! DNS resolution and TCP connect under one deadline, and a socket whose every read
//! and write is bounded by that deadline.
//!
//! `getaddrinfo` cannot be cancelled, so a DNS name is resolved on a helper thread
//! that we stop waiting for at the deadline (the process may exit with it still
//! blocked; nothing is held). Several addresses are tried in turn, each with a share
//! of the remaining time, as Go's `dialSerial`/`partialDeadline` does
//! (<https://github.com/golang/go/blob/master/src/net/dial.go>).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Phase, Progress, Unreachable};
use crate::endpoint::{Endpoint, Host};

/// How many leading bytes from the server we keep, to recognise non-TLS peers.
const SNIFF: usize = 16;

/// A TCP stream whose reads and writes fail with `TimedOut` at the deadline.
pub(super) struct DeadlineStream {
    tcp: TcpStream,
    deadline: Instant,
    first: Vec<u8>,
    /// Told when the server's first bytes arrive during the handshake, so a deadline that
    /// passes later is a stalled answer, not silence.
    progress: Progress,
}

impl DeadlineStream {
    /// The first bytes the server sent (up to 16), for classifying failures.
    pub(super) fn first_bytes(&self) -> &[u8] {
        &self.first
    }

    fn remaining(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::ErrorKind::TimedOut.into())
        } else {
            Ok(left)
        }
    }
}

/// A read timeout surfaces as `WouldBlock` on Unix; callers must see `TimedOut`
/// (rustls treats `WouldBlock` as "try again later").
fn timed_out(err: io::Error) -> io::Error {
    match err.kind() {
        io::ErrorKind::WouldBlock => io::ErrorKind::TimedOut.into(),
        _ => err,
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.remaining()?;
        self.tcp.set_read_timeout(Some(left))?;
        let n = self.tcp.read(buf).map_err(timed_out)?;
        if n > 0 && self.first.is_empty() && self.progress.phase() == Phase::Handshake {
            self.progress.set(Phase::HandshakeMidAnswer);
        }
        if self.first.len() < SNIFF {
            let take = n.min(SNIFF - self.first.len());
            self.first.extend_from_slice(&buf[..take]);
        }
        Ok(n)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.remaining()?;
        self.tcp.set_write_timeout(Some(left))?;
        self.tcp.write(buf).map_err(timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// Resolve `endpoint` and connect to the first address that accepts, before `deadline`.
pub(super) fn connect(
    endpoint: &Endpoint,
    deadline: Instant,
    progress: &Progress,
) -> Result<DeadlineStream, Unreachable> {
    let start = Instant::now();
    if matches!(endpoint.host, Host::Dns(_)) {
        progress.set(Phase::Dns);
    }
    let addrs = resolve(endpoint, deadline)?;
    progress.set(Phase::Connect);
    let mut first_error = None;
    for (index, addr) in addrs.iter().enumerate() {
        let now = Instant::now();
        let left = deadline.saturating_duration_since(now);
        if left.is_zero() {
            break;
        }
        let share = partial_timeout(left, addrs.len() - index);
        match TcpStream::connect_timeout(addr, share) {
            Ok(tcp) => {
                // Small requests: do not wait for Nagle before the ClientHello / GET.
                let _ = tcp.set_nodelay(true);
                return Ok(DeadlineStream {
                    tcp,
                    deadline,
                    first: Vec::with_capacity(SNIFF),
                    progress: progress.clone(),
                });
            }
            Err(err) => {
                first_error.get_or_insert((*addr, err));
            }
        }
    }
    Err(match first_error {
        Some((addr, err)) => Unreachable::from_connect(endpoint, addr, &err, start),
        // No address was even tried: the deadline had passed already.
        None => Unreachable::Timeout {
            endpoint: endpoint.to_string(),
            phase: Phase::Start,
            after: start.elapsed(),
        },
    })
}

/// Go's `partialDeadline`: each remaining address gets an equal share of the time
/// left, but at least 2 s (or all that is left).
fn partial_timeout(left: Duration, addrs_remaining: usize) -> Duration {
    const SANE_MINIMUM: Duration = Duration::from_secs(2);
    let share = left / u32::try_from(addrs_remaining.max(1)).unwrap_or(u32::MAX);
    if share < SANE_MINIMUM {
        left.min(SANE_MINIMUM)
    } else {
        share
    }
}

fn resolve(endpoint: &Endpoint, deadline: Instant) -> Result<Vec<SocketAddr>, Unreachable> {
    let name = match &endpoint.host {
        Host::Ip(ip) => return Ok(vec![SocketAddr::new(*ip, endpoint.port)]),
        Host::Dns(name) => name.clone(),
    };
    let port = endpoint.port;
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("dns".into())
        .spawn(move || {
            let _ = tx.send((name.as_str(), port).to_socket_addrs().map(Vec::from_iter));
        });
    if let Err(e) = spawned {
        return Err(Unreachable::Dns {
            endpoint: endpoint.to_string(),
            reason: format!("cannot start the resolver: {e}"),
        });
    }
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(Unreachable::Dns {
            endpoint: endpoint.to_string(),
            reason: "no addresses".into(),
        }),
        Ok(Err(e)) => Err(Unreachable::Dns {
            endpoint: endpoint.to_string(),
            reason: e.to_string(),
        }),
        Err(_) => Err(Unreachable::Timeout {
            endpoint: endpoint.to_string(),
            phase: Phase::Dns,
            after: left,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_timeout_follows_go() {
        let s = Duration::from_secs;
        assert_eq!(partial_timeout(s(10), 2), s(5));
        assert_eq!(partial_timeout(s(3), 2), s(2));
        assert_eq!(
            partial_timeout(Duration::from_millis(500), 3),
            Duration::from_millis(500)
        );
        assert_eq!(partial_timeout(s(1), 0), s(1));
    }
}
