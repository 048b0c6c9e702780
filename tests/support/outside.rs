//! A laptop outside the cluster (issue 31), as a private network namespace of its own
//! (`unshare -n`): loopback up, Marathon-LB a real `docker-registry` on the namespace's
//! 127.0.0.1, and the VIP an address whose SYNs leave and are never answered — routed out
//! of a veth whose peer, in the same namespace, drops them (a static neighbour entry with
//! a MAC nobody has, so there is no ARP either), as a laptop's packets to the VIP are
//! dropped somewhere on the way. A local `blackhole` route would not do: connect(2) fails
//! at once with EINVAL there, a fast error rather than the silence a laptop meets.
//!
//! Nothing is configured outside the namespace, and nothing leaves it: the namespace
//! holder checks that it is not the host's before any route is added, and dies (taking
//! the namespace with it) on drop. The binary runs inside through `nsenter --net`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::peers::TestChain;
use super::window::KillOnDrop;
use super::{require_tool, Dcosreg, Registry};

/// The VIP inside the namespace: silent (see the module comment).
pub const VIP: &str = "10.77.0.2";
/// A second silent address in the same /30, for "nothing answers".
pub const VIP2: &str = "10.77.0.3";

/// The namespace and its holder process.
pub struct Outside {
    /// `/proc/PID/ns/net` of the holder.
    pub net: PathBuf,
    // Dropped after the registries that live in it (declared later in their owners).
    _holder: KillOnDrop,
}

impl Outside {
    pub fn create() -> Outside {
        let unshare = require_tool("unshare");
        require_tool("ip");
        require_tool("nsenter");
        // The holder: unshare -n, then the set-up, then "ready", then it waits to be killed.
        // `ip` refuses to run in the host's namespace only by our check: compare the
        // namespace of the shell with the one it was started from before touching it.
        let host_ns = std::fs::read_link("/proc/self/ns/net").expect("our netns");
        let script = format!(
            r#"set -e
[ "$(readlink /proc/self/ns/net)" != "$1" ] || {{ echo "still in the host's namespace" >&2; exit 1; }}
ip link set lo up
ip link add vip0 type veth peer name vip1
ip link set vip1 up
ip link set vip0 up
ip addr add 10.77.0.1/30 dev vip0
ip neigh replace {VIP} lladdr 02:00:00:00:00:02 dev vip0 nud permanent
ip neigh replace {VIP2} lladdr 02:00:00:00:00:03 dev vip0 nud permanent
echo ready
exec sleep 600"#
        );
        let mut child = Command::new(unshare)
            .args(["-n", "sh", "-c", &script, "sh"])
            .arg(&host_ns)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("unshare -n");
        let stdout = child.stdout.take().expect("holder stdout");
        let holder = KillOnDrop(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the namespace was set up within 20 s");
        assert_eq!(line.trim(), "ready", "namespace set-up failed");
        let net = PathBuf::from(format!("/proc/{}/ns/net", holder.0.id()));
        assert_ne!(
            std::fs::read_link(&net).expect("holder netns"),
            host_ns,
            "the holder must not share the host's namespace"
        );
        Outside {
            net,
            _holder: holder,
        }
    }

    /// A TLS registry on the namespace's 127.0.0.1:`port` (`extra`: an `auth:` section).
    pub fn registry(&self, port: u16, chain: &TestChain, extra: &str) -> Registry {
        Registry::start_entering(
            &self.net,
            "127.0.0.1",
            port,
            &chain.chain_pem,
            &chain.key_pem,
            extra,
        )
    }

    /// The binary under test, run inside the namespace, with the usual scrubbed
    /// environment ([`Dcosreg`]).
    pub fn dcosreg<S: AsRef<std::ffi::OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Dcosreg {
        let mut via = Command::new(require_tool("nsenter"));
        via.arg(format!("--net={}", self.net.display()))
            .arg(super::bin_path());
        Dcosreg::via(via)
            .args(args)
            .timeout(Duration::from_secs(60))
    }

    pub fn net(&self) -> &Path {
        &self.net
    }
}
