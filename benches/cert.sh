#!/usr/bin/env bash
# Issuing time of `cert` (new CA + registry certificate, written to disk) for ECDSA P-256
# and RSA 2048, and of `snippet marathon`. RSA key generation (two 2048-bit keys, pure Rust
# `rsa` crate) dominates the RSA case and varies run to run: hyperfine reports the spread.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "benches/cert.sh: install hyperfine (apt-get install hyperfine)" >&2; exit 2; }
cargo build --release --locked --quiet
bin="$PWD/target/release/docker-dcosreg"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
loopback=(--internal 127.0.0.1 --external 127.0.0.1:5000)
hyperfine --warmup 3 --runs "${RUNS:-30}" -N \
    --export-json "$work/bench.json" \
    --prepare "rm -rf $work/out" \
    "$bin ${loopback[*]} cert --out $work/out --key-type ecdsa-p256" \
    "$bin ${loopback[*]} cert --out $work/out --key-type rsa2048" \
    "$bin ${loopback[*]} snippet marathon"
jq -r '.results[] | "\(.command | sub(".*docker-dcosreg "; "")): mean \(.mean*1000|round) ms, min \(.min*1000|round) ms, max \(.max*1000|round) ms"' \
    "$work/bench.json"
