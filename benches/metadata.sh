#!/usr/bin/env bash
# Plugin handshake latency: `docker-dcosreg docker-cli-plugin-metadata` vs /bin/true, side by side
# in one hyperfine run (Docker makes this call on every `docker --help`). Target: <= 1.5x.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "benches/metadata.sh: install hyperfine (apt-get install hyperfine)" >&2; exit 2; }
cargo build --release --locked --quiet
bin=target/release/docker-dcosreg
hyperfine --warmup 50 --runs "${RUNS:-500}" -N \
    --export-json "${TMPDIR:-/tmp}/dcosreg-metadata-bench.json" \
    '/bin/true' "$bin docker-cli-plugin-metadata"
jq -r '.results as $r | "ratio metadata / true: \(($r[1].mean / $r[0].mean * 100 | round) / 100)x (\($r[1].mean*1e6|round) us vs \($r[0].mean*1e6|round) us)"' \
    "${TMPDIR:-/tmp}/dcosreg-metadata-bench.json"
ls -l "$bin" | awk '{print "release binary size: " $5 " bytes"}'
