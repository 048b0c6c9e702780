#!/usr/bin/env bash
# `check` against a live loopback registry vs `openssl s_client -verify_return_error` on the
# same endpoint, in one hyperfine run. Both connect, handshake, verify the chain against the
# same CA file and check the address; ours also judges findings and prints a report.
# A third command adds the default trust (Go's system pool under --root + certs.d), which
# parses the whole system bundle as Docker does. Target: check / s_client <= 1.0x.
# BASE=/path/to/an/older/docker-dcosreg adds that build's two check commands to the same
# run, so an engine change is measured side by side (e.g. a release build of an earlier
# commit); the ratios new / BASE are printed last.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine openssl docker-registry jq; do
    command -v "$tool" >/dev/null || { echo "benches/check.sh: install $tool (see .ci/run)" >&2; exit 2; }
done
cargo build --release --locked --quiet
bin=$PWD/target/release/docker-dcosreg

work=$(mktemp -d)
registry_pid=
cleanup() {
    [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

ip=127.0.0.$((100 + RANDOM % 100))
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('$ip', 0)); print(s.getsockname()[1])")
ep=$ip:$port

# A CA and an ECDSA P-256 registry certificate for the loopback address.
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -days 30 -subj "/CN=Bench CA" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout domain.key -out domain.csr \
    -subj "/CN=registry" 2>/dev/null
printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$ip" > ext.cnf
openssl x509 -req -in domain.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
    -extfile ext.cnf -out domain.crt 2>/dev/null
mkdir -p root/etc/docker/certs.d/"$ep" root/etc/ssl/certs
cp ca.crt root/etc/docker/certs.d/"$ep"/ca.crt
cp /etc/ssl/certs/ca-certificates.crt root/etc/ssl/certs/ca-certificates.crt
cat > config.yml <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: $ep
  secret: bench
  tls:
    certificate: $work/domain.crt
    key: $work/domain.key
EOF
docker-registry serve config.yml >registry.log 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
    (exec 3<>/dev/tcp/"$ip"/"$port") 2>/dev/null && break
    sleep 0.05
done

# Sanity: both say "trusted" before we time them.
"$bin" --internal "$ep" --external "$ep" check "$ep" --ca-file ca.crt >/dev/null
openssl s_client -connect "$ep" -verify_return_error -CAfile ca.crt -verify_ip "$ip" </dev/null >/dev/null 2>&1

commands=(
    "openssl s_client -connect $ep -verify_return_error -CAfile $work/ca.crt -verify_ip $ip"
    "$bin --internal $ep --external $ep check $ep --ca-file $work/ca.crt"
    "$bin --internal $ep --external $ep --root $work/root check $ep"
)
if [ -n "${BASE:-}" ]; then
    "$BASE" --internal "$ep" --external "$ep" check "$ep" --ca-file ca.crt >/dev/null
    commands+=(
        "$BASE --internal $ep --external $ep check $ep --ca-file $work/ca.crt"
        "$BASE --internal $ep --external $ep --root $work/root check $ep"
    )
fi
hyperfine -N --warmup 10 --runs "${RUNS:-100}" --export-json "$work/bench.json" "${commands[@]}"
jq -r '.results as $r |
  "ratio check --ca-file / s_client: \(($r[1].mean / $r[0].mean * 100 | round) / 100)x (\($r[1].mean*1e3*100|round/100) ms vs \($r[0].mean*1e3*100|round/100) ms)",
  "ratio check (system pool + certs.d) / s_client: \(($r[2].mean / $r[0].mean * 100 | round) / 100)x (\($r[2].mean*1e3*100|round/100) ms)"' \
    "$work/bench.json"
if [ -n "${BASE:-}" ]; then
    jq -r '.results as $r |
      "ratio check --ca-file, this build / BASE: \(($r[1].mean / $r[3].mean * 100 | round) / 100)x",
      "ratio check (system pool + certs.d), this build / BASE: \(($r[2].mean / $r[4].mean * 100 | round) / 100)x"' \
        "$work/bench.json"
fi
