#!/usr/bin/env bash
# `endpoint` decision time against real peers (issues 7 and 19), in one run:
#   (a) tarpit internal + live external, deadline 1s   target <= deadline + 50 ms
#   (b) live internal + tarpit external, deadline 1s   target <= 50 ms
#   (c) tarpit internal + refused external, deadline 1s target <= deadline + 50 ms
#   (d) outside the cluster: internal on a host whose packets are dropped + live external,
#       default deadline 3s and fallback delay 250ms  target <= 400 ms
# plus the plugin metadata call vs /bin/true (startup cost).
# The live peer is a real docker-registry (Go) with TLS; the tarpit is a listening socket
# that is never accepted (the kernel completes the handshake, nobody speaks); the dropped
# host is a network namespace (needs root) that routes its replies to us into a blackhole.
# `benches/endpoint.sh OLD_BINARY` also times (d) with an older build, side by side;
# BIN=path times that binary instead of building target/release.
# Loopback, plus 10.207.255.248/30 inside the namespace this script creates.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:-}
[[ -z $old || -x $old ]] || { echo "benches/endpoint.sh: $old is not an executable" >&2; exit 2; }
for tool in hyperfine jq openssl docker-registry python3 ip; do
    command -v "$tool" >/dev/null || { echo "benches/endpoint.sh: install $tool (.ci/run installs the test packages)" >&2; exit 2; }
done
# BIN=path times a binary built elsewhere (e.g. a dist/ build) instead of building one.
if [[ -z ${BIN:-} ]]; then
    cargo build --release --locked --quiet
fi
bin=${BIN:-$PWD/target/release/docker-dcosreg}
ip=127.0.98.1
runs=${RUNS:-20}
work=$(mktemp -d)
pids=()
ns=dcosreg-bench-$$ veth=drgbench$$
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    ip link delete "$veth" 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A live TLS registry.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench \
    -addext "subjectAltName=IP:$ip" -keyout "$work/key.pem" -out "$work/chain.pem" 2>/dev/null
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: $ip:5000
  secret: bench
  tls:
    certificate: $work/chain.pem
    key: $work/key.pem
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
live=$ip:5000

# A tarpit and a refused port (bound then released).
python3 - "$ip" >"$work/tarpit.port" <<'EOF' &
import socket, sys, time
s = socket.socket(); s.bind((sys.argv[1], 0)); s.listen(4096)
print(s.getsockname()[1], flush=True)
time.sleep(3600)
EOF
pids+=($!)
refused_port=$(python3 -c "import socket,sys; s=socket.socket(); s.bind(('$ip',0)); print(s.getsockname()[1])")
for _ in $(seq 100); do
    [[ -s $work/tarpit.port ]] && timeout 1 bash -c "</dev/tcp/$ip/5000" 2>/dev/null && break
    sleep 0.1
done
tarpit=$ip:$(cat "$work/tarpit.port")
refused=$ip:$refused_port

# A host whose packets are dropped (the VIP seen from outside the cluster).
ip netns add "$ns"
ip link add "$veth" type veth peer name "${veth}n"
ip link set "${veth}n" netns "$ns"
ip addr add 10.207.255.249/30 dev "$veth"
ip link set "$veth" up
ip -n "$ns" addr add 10.207.255.250/30 dev "${veth}n"
ip -n "$ns" link set "${veth}n" up
ip -n "$ns" route add blackhole 10.207.255.249/32
dark=10.207.255.250:443

# Sanity: each scenario decides as issue 7 says.
check() { # expected-exit expected-stdout args...
    local want_code=$1 want_out=$2; shift 2
    local out code=0
    out=$("$bin" endpoint --root "$work/root" "$@" 2>/dev/null) || code=$?
    [[ $code == "$want_code" && $out == "$want_out" ]] || { echo "unexpected: endpoint $* -> $code '$out'" >&2; exit 1; }
}
mkdir -p "$work/root"
check 0 "$live" --internal "$tarpit" --external "$live" --timeout 1s
check 0 "$live" --internal "$live" --external "$tarpit" --timeout 1s
check 1 "" --internal "$tarpit" --external "$refused" --timeout 1s
check 0 "$live" --internal "$dark" --external "$live"

# --root "$work/root": an empty host root, so the trust verdict reads no system store
# (the figures then measure the network decision); the real-root run below includes it.
cmd() { echo "$bin endpoint --root $work/root --timeout 1s --internal $1 --external $2"; }
hyperfine -N --warmup 3 --runs "$runs" -i \
    --export-json "$work/endpoint.json" \
    -n "(a) tarpit internal + live external" "$(cmd "$tarpit" "$live")" \
    -n "(b) live internal + tarpit external" "$(cmd "$live" "$tarpit")" \
    -n "(c) tarpit internal + refused external" "$(cmd "$tarpit" "$refused")" \
    -n "(b') as (b), real root (system CA store read for the trust verdict)" \
       "$bin endpoint --timeout 1s --internal $live --external $tarpit"
jq -r '.results[] | "\(.command): median \(.median*1000|.*10|round/10) ms, mean \(.mean*1000|.*10|round/10) ms, max \(.max*1000|.*10|round/10) ms"' "$work/endpoint.json"

# (d) at the defaults (3s deadline, 250ms fallback delay), real root, as a CI job runs it.
outside=(-n "(d) outside the cluster: dropped internal + live external" "$bin endpoint --internal $dark --external $live")
[[ -z $old ]] || outside+=(-n "(d) the same, $old" "$old endpoint --internal $dark --external $live")
hyperfine -N --warmup 1 --runs "${OUTSIDE_RUNS:-10}" -i --export-json "$work/outside.json" "${outside[@]}"
jq -r '.results[] | "\(.command): median \(.median*1000|.*10|round/10) ms, mean \(.mean*1000|.*10|round/10) ms, max \(.max*1000|.*10|round/10) ms"' "$work/outside.json"

hyperfine -N --warmup 50 --runs "${META_RUNS:-300}" \
    --export-json "$work/metadata.json" \
    '/bin/true' "$bin docker-cli-plugin-metadata"
jq -r '.results as $r | "metadata call: median \($r[1].median*1e6|round) us vs /bin/true \($r[0].median*1e6|round) us (\(($r[1].median / $r[0].median * 100 | round) / 100)x); means \($r[1].mean*1e6|round) us vs \($r[0].mean*1e6|round) us"' "$work/metadata.json"
