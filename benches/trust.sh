#!/usr/bin/env bash
# trust / untrust cost on a staged root with every target present: a fresh install (19 files,
# each fsync'ed), the idempotent re-run (reads and compares only, writes nothing) and untrust.
# --ca-file and --no-verify: no network. Figures are wall time per command (hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "benches/trust.sh: install hyperfine (apt-get install hyperfine)" >&2; exit 2; }
command -v openssl >/dev/null || { echo "benches/trust.sh: install openssl" >&2; exit 2; }
cargo build --release --locked --quiet
bin=$PWD/target/release/docker-dcosreg
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/domain.key" -out "$work/domain.crt" -days 3 \
    -subj "/O=example.com/CN=192.168.0.1" -addext "subjectAltName=IP:192.168.0.1,IP:192.168.1.50" 2>/dev/null
root=$work/root
prepare="rm -rf $root && mkdir -p $root/etc/buildkit $root/etc/containerd $root/etc/containers $root/var/lib/dcos $root/usr/local/share/ca-certificates"
args="--root $root --internal 192.168.0.1 --external 192.168.1.50:5000"
trust="$bin $args trust --no-verify --ca-file $work/domain.crt --yes"
hyperfine --warmup 3 --runs "${RUNS:-30}" \
    --export-json "$work/bench.json" \
    --command-name "trust (fresh, 6 targets)" --prepare "$prepare" "$trust" \
    --command-name "trust (already installed)" --prepare "$prepare && $trust >/dev/null" "$trust" \
    --command-name "untrust" --prepare "$prepare && $trust >/dev/null" "$bin $args untrust"
jq -r '.results[] | "\(.command): mean \(.mean*1000*10|round/10) ms, stddev \(.stddev*1000*10|round/10) ms"' "$work/bench.json"
