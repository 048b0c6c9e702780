//! `GET /v2/` on the connection whose chain we just captured.
//!
//! The Docker Registry HTTP API v2 answers `/v2/` with 200 (open) or 401 (auth
//! required); anything else is not a registry. One HTTP/1.1 request and its status
//! line are all we need, so we write them on the TLS session we already have instead
//! of a second connection through an HTTP client: one handshake per probe, and the
//! same deadline bounds every read (reqwest's blocking client would add a runtime
//! thread and its own timeout). Trust is recorded, not required, as for the chain.
//!
//! Also the one bounded reader for the bodies that do come through reqwest (Mesos,
//! Marathon, `--ca-url`): [`read_body`], for `rollout` and `trust`.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{handshake, Phase, PresentedChain, Progress, Unreachable};
use crate::endpoint::Endpoint;

/// The longest status line we read before giving up on the peer.
const MAX_HEAD: usize = 4096;

/// What one probe of a registry endpoint found.
#[derive(Debug, Clone)]
pub(crate) struct RegistryProbe {
    /// The chain from the handshake (trust not judged).
    pub(crate) chain: PresentedChain,
    /// The status of `GET /v2/`, or why the TLS peer gave none.
    pub(crate) http_status: Result<u16, Unreachable>,
    /// From the start (DNS included) to the HTTP status line (or its failure).
    pub(crate) elapsed: Duration,
}

impl RegistryProbe {
    /// 200 or 401 on `/v2/`: a Docker registry (distribution spec, "API version check").
    pub(crate) fn is_registry(&self) -> bool {
        matches!(self.http_status, Ok(200 | 401))
    }
}

/// Handshake, then `GET /v2/`, all before `deadline`; `progress` tells another thread
/// which step is under way.
pub(crate) fn probe_registry(
    endpoint: &Endpoint,
    deadline: Instant,
    progress: &Progress,
) -> Result<RegistryProbe, Unreachable> {
    let start = Instant::now();
    let mut session = handshake(endpoint, deadline, progress)?;
    progress.set(Phase::GetV2);
    let mut stream = rustls::Stream::new(&mut session.conn, &mut session.io);
    let http_status = get_v2(&mut stream, endpoint).map_err(|err| match err.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Unreachable::Timeout {
            endpoint: endpoint.to_string(),
            phase: Phase::GetV2,
            after: start.elapsed(),
        },
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => Unreachable::Reset {
            endpoint: endpoint.to_string(),
            phase: Phase::GetV2,
        },
        _ => Unreachable::Http {
            endpoint: endpoint.to_string(),
            reason: crate::text::sanitize_line(&err.to_string()),
        },
    });
    Ok(RegistryProbe {
        chain: session.chain,
        http_status,
        elapsed: start.elapsed(),
    })
}

fn get_v2(stream: &mut impl ReadWrite, endpoint: &Endpoint) -> io::Result<u16> {
    // Host as Go's net/http sends it for https://<reference host>/v2/.
    let request = format!(
        "GET /v2/ HTTP/1.1\r\nHost: {}\r\nUser-Agent: docker-dcosreg/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        endpoint.reference_host(),
        env!("CARGO_PKG_VERSION"),
    );
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "no HTTP status line in the first 4 KiB",
            ));
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection without an HTTP response",
            ));
        }
        head.extend_from_slice(&buf[..n]);
    }
    parse_status_line(&head).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "the answer to GET /v2/ is not HTTP",
        )
    })
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// `HTTP/1.1 401 Unauthorized` → 401.
fn parse_status_line(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\r').next()?;
    let rest = line.strip_prefix(b"HTTP/1.")?;
    let code = rest.get(2..5)?;
    if rest.get(1) != Some(&b' ') || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// Read a body of at most `cap` bytes, all of it before `deadline`: the one reader for
/// every network body (Mesos, Marathon, `--ca-url`). reqwest's blocking timeout bounds
/// each read, not the body, so a server that trickles a byte every half second would
/// keep us forever; the body is read on a helper thread that we stop waiting for at the
/// deadline (it ends at its own next read timeout; nothing is held).
pub(crate) fn read_body(
    response: impl Read + Send + 'static,
    cap: u64,
    deadline: Instant,
) -> anyhow::Result<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("body".into())
        .spawn(move || {
            let mut response = response;
            let mut body = Vec::new();
            let mut chunk = [0u8; 16 * 1024];
            let result = loop {
                if Instant::now() >= deadline {
                    break Err(BodyError::Deadline);
                }
                match response.read(&mut chunk) {
                    Ok(0) => break Ok(body),
                    Ok(n) => {
                        body.extend_from_slice(&chunk[..n]);
                        if body.len() as u64 > cap {
                            break Err(BodyError::TooLarge);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(BodyError::Io(e)),
                }
            };
            let _ = tx.send(result);
        })
        .context("cannot start a thread to read the answer")?;
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(BodyError::TooLarge)) => anyhow::bail!("the answer is larger than {cap} bytes"),
        Ok(Err(BodyError::Io(e))) => {
            Err(e).context("the connection broke while reading the answer")
        }
        Ok(Err(BodyError::Deadline)) | Err(_) => anyhow::bail!(
            "the server did not finish its answer before the deadline — raise --timeout if it is just slow"
        ),
    }
}

enum BodyError {
    TooLarge,
    Deadline,
    Io(io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_parse() {
        assert_eq!(
            parse_status_line(b"HTTP/1.1 401 Unauthorized\r\n"),
            Some(401)
        );
        assert_eq!(parse_status_line(b"HTTP/1.0 200 OK\r\nX: y"), Some(200));
        assert_eq!(parse_status_line(b"HTTP/1.1 404\r\n"), Some(404));
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 4x1 Huh\r\n"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1"), None);
    }
}
