#!/usr/bin/env bash
# Benchmark: `rollout --parallel 16` vs the guide's sequential ssh loop, over 100 agents.
# Each agent receives the release binary (in the script) and runs its own trust.
#
# The agents are the loopback addresses 127.0.1.1–127.0.1.100, all served by one real sshd.
# sshd cannot bind more than 16 listen addresses, so it listens on 0.0.0.0 inside a network
# namespace of its own whose only interface is `lo`: every 127.x address reaches it and nothing
# outside the namespace can. Both contenders run inside that namespace, one run each.
# Needs root, iproute2, openssh-server; builds the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."

AGENTS=${AGENTS:-100}
PARALLEL=${PARALLEL:-16}
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (network namespace, sshd)" >&2; exit 1; }
[ -x /usr/sbin/sshd ] || { echo "bench: /usr/sbin/sshd missing: apt-get install openssh-server" >&2; exit 1; }

cargo build --release --locked -q
BIN=$PWD/target/release/docker-dcosreg
T=$(mktemp -d)
NS=dcosreg-bench-$$
cleanup() {
    [ -f "$T/sshd.pid" ] && kill "$(cat "$T/sshd.pid")" 2>/dev/null || true
    ip netns delete "$NS" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/host"
ssh-keygen -q -t ed25519 -N '' -f "$T/client"
cp "$T/client.pub" "$T/authorized_keys"
cat > "$T/sshd_config" <<CFG
ListenAddress 0.0.0.0:22
HostKey $T/host
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
PrintMotd no
LogLevel ERROR
# The default 10:30:100 starts dropping unauthenticated connections beyond 10 at once.
MaxStartups 200
MaxSessions 200
CFG
ip netns exec "$NS" /usr/sbin/sshd -f "$T/sshd_config"
for _ in $(seq 100); do ip netns exec "$NS" bash -c 'exec 3<>/dev/tcp/127.0.1.1/22' 2>/dev/null && break; sleep 0.05; done

for i in $(seq 1 "$AGENTS"); do echo "127.0.1.$i"; done > "$T/agents"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
    -out "$T/ca.crt" -days 30 -subj /CN=bench-ca 2>/dev/null
OPTS=(-o LogLevel=ERROR -o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=accept-new -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i "$T/client")
in_ns() { ip netns exec "$NS" "$@"; }

# The guide's loops (mkdir, then copy, per agent, one after the other), made runnable here: the
# copy goes through ssh's stdin instead of scp + a second ssh for mv, which only spares the
# guide a round trip per agent.
cat > "$T/guide.sh" <<GUIDE
for i in \$(cat $T/agents); do
    ssh ${OPTS[*]} root@"\$i" "mkdir -p $T/guide/\$i/etc/docker/certs.d/192.168.0.1" </dev/null
    ssh ${OPTS[*]} root@"\$i" "cat > $T/guide/\$i/etc/docker/certs.d/192.168.0.1/ca.crt" < $T/ca.crt
done
GUIDE

# Warm the known_hosts file so neither contender pays for the first host-key write.
in_ns ssh "${OPTS[@]}" root@127.0.1.1 true
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

start=$EPOCHREALTIME
in_ns bash "$T/guide.sh"
guide_s=$(elapsed "$start")

ROLL=("$BIN" --internal 192.168.0.1 --external 192.168.1.50:5000 rollout
    --agents-file "$T/agents" --parallel "$PARALLEL" --ca-file "$T/ca.crt" --yes
    --target docker,containers
    --remote-root "$T/rollout/%h" --ssh-user root --ssh-identity "$T/client"
    --ssh-option UserKnownHostsFile="$T/known_hosts" --ssh-option StrictHostKeyChecking=accept-new
    --ssh-option GlobalKnownHostsFile=/dev/null --ssh-option IdentitiesOnly=yes)
start=$EPOCHREALTIME
in_ns "${ROLL[@]}" > "$T/rollout.out" || true
roll_s=$(elapsed "$start")
tail -1 "$T/rollout.out"

start=$EPOCHREALTIME
in_ns "${ROLL[@]}" > "$T/rollout2.out" || true
again_s=$(elapsed "$start")
tail -1 "$T/rollout2.out"

guide_files=$(find "$T/guide" -name ca.crt | wc -l)
roll_files=$(find "$T/rollout" -name ca.crt | wc -l)
printf 'agents: %s\n' "$AGENTS"
printf 'guide loop (sequential ssh, mkdir + copy, 1 endpoint): %6ss  (%s files)\n' "$guide_s" "$guide_files"
printf 'rollout --parallel %s (the tool on each agent, 6 files):%6ss  (%s files)\n' "$PARALLEL" "$roll_s" "$roll_files"
printf 'rollout again (already installed):                      %6ss\n' "$again_s"
