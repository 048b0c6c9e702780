#!/usr/bin/env bash
# Plugin handshake latency: `docker-dcosreg docker-cli-plugin-metadata` vs /bin/true, side by side
# (Docker makes this call for every plugin on every `docker --help`). Target: <= 1.7x (a PIE:
# build.rs explains why the binary is not linked -no-pie).
# hyperfine times both commands in each of ROUNDS rounds (RUNS runs each in all); a round's
# ratio is metadata's median over true's, and the figure is the median of the rounds' ratios,
# so that a machine whose speed drifts between rounds still compares like with like.
# Usage: bash benches/metadata.sh      (RUNS=2000 ROUNDS=5 by default; BIN= times another build)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine jq; do
    command -v "$tool" >/dev/null || { echo "benches/metadata.sh: install $tool (apt-get install $tool)" >&2; exit 2; }
done
runs=${RUNS:-2000}
rounds=${ROUNDS:-5}
if [[ -z ${BIN:-} ]]; then
    cargo build --release --locked --quiet
fi
bin=${BIN:-target/release/docker-dcosreg}
json=$(mktemp)
log=$(mktemp)
trap 'rm -f "$json" "$log"' EXIT
ratios=()
for ((round = 1; round <= rounds; round++)); do
    # hyperfine's warnings about outliers are noise here; its errors are shown.
    hyperfine --warmup 50 --runs $((runs / rounds)) -N --style none --export-json "$json" \
        '/bin/true' "$bin docker-cli-plugin-metadata" >/dev/null 2>"$log" || { cat "$log" >&2; exit 1; }
    ratio=$(jq -r '.results as $r | $r[1].median / $r[0].median' "$json")
    ratios+=("$ratio")
    jq -r --arg round "$round" '.results as $r |
        "round \($round): \($r[1].median*1e6|round) us vs \($r[0].median*1e6|round) us (medians), ratio \(($r[1].median / $r[0].median * 100 | round) / 100)x"' "$json"
done
printf '%s\n' "${ratios[@]}" | sort -g | awk '{r[NR] = $1} END {
    m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
    printf "ratio metadata / true: %.2fx (median of %d rounds; target <= 1.7x)\n", m, NR }'
ls -l "$bin" | awk '{print "binary size: " $5 " bytes"}'
if command -v readelf >/dev/null; then
    # What the loader does before main: the libraries it maps and the relocations it applies.
    echo "shared libraries: $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
    echo "position-independent: $(readelf -d "$bin" | grep -q 'Flags:.*PIE' && echo yes || echo no)"
    echo "dynamic relocations: $(readelf -r "$bin" | grep -c '^[0-9a-f]\{12\}')"
fi
