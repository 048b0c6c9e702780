#!/usr/bin/env bash
# Benchmark: `rewrite` over 10,000 Dockerfiles in place vs sed -i over the same files.
#
#   bash benches/rewrite.sh [FILES] [ROUNDS]
#
# Builds the release binary, lays out FILES (default 10000) Dockerfiles in 100 directories
# twice (one tree for sed, one for us; same bytes), and times, in one run and alternating:
#   sed:  find A -name '*.Dockerfile' -print0 | xargs -0 sed -i 's#192.168.0.1/#192.168.1.50:5000/#'
#   ours: docker-dcosreg --internal 192.168.0.1 --external 192.168.1.50:5000 rewrite --to external B
# BASE=/path/to/an/older/docker-dcosreg adds that build on a third tree in the same rounds
# (the order rotates each round), and its ratio to sed is printed too.
# Both trees are then compared byte for byte (these inputs are simple enough for sed to be
# right). Ours writes each file atomically with fsync (sed -i does not fsync); `sync` runs
# before each timing so neither pays for the set-up's dirty pages. Nothing touches the network.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-10000}
rounds=${2:-3}
dirs=100
per_dir=$(( (files + dirs - 1) / dirs ))

cargo build --release --quiet
bin=$PWD/target/release/docker-dcosreg
work=$(mktemp -d "${TMPDIR:-/tmp}/dcosreg-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

make_tree() {
    local root=$1 n=0
    for d in $(seq 1 $dirs); do
        mkdir -p "$root/svc$d"
        for f in $(seq 1 $per_dir); do
            (( n++ < files )) || return 0
            cat > "$root/svc$d/app$f.Dockerfile" <<DOCKERFILE
# syntax=docker/dockerfile:1
ARG REGISTRY=192.168.0.1
FROM 192.168.0.1/base/golang:1.22 AS build-$f
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache \\
    go build -o /out/app$f ./cmd/app$f
FROM 192.168.0.1/base/docker-tomcat-base:8.5-jre8
LABEL service=svc$d app=app$f
COPY --from=build-$f /out/app$f /usr/local/bin/app$f
COPY --from=192.168.1.50:5000/tools/tini:0.19 /tini /tini
EXPOSE 8080
ENTRYPOINT ["/tini", "--", "/usr/local/bin/app$f"]
DOCKERFILE
        done
    done
}

now() { date +%s.%N; }
sed_times=()
our_times=()
base_times=()
for round in $(seq 1 "$rounds"); do
    rm -rf "$work/a" "$work/b" "$work/c"
    make_tree "$work/a"
    cp -a "$work/a" "$work/b"
    order_list=(sed ours)
    if [ -n "${BASE:-}" ]; then
        cp -a "$work/a" "$work/c"
        order_list+=(base)
    fi
    sync
    # Rotate who goes first each round.
    n=${#order_list[@]}
    order=""
    for i in $(seq 0 $((n - 1))); do order+="${order_list[$(( (i + round) % n ))]} "; done
    for who in $order; do
        sync
        start=$(now)
        case $who in
            sed) find "$work/a" -name '*.Dockerfile' -print0 | xargs -0 sed -i 's#192.168.0.1/#192.168.1.50:5000/#' ;;
            ours) "$bin" --internal 192.168.0.1 --external 192.168.1.50:5000 rewrite --to external "$work/b" >/dev/null 2>"$work/err" ;;
            base) "$BASE" --internal 192.168.0.1 --external 192.168.1.50:5000 rewrite --to external "$work/c" >/dev/null 2>"$work/err" ;;
        esac
        end=$(now)
        t=$(echo "$end - $start" | bc -l)
        case $who in
            sed) sed_times+=("$t") ;;
            ours) our_times+=("$t") ;;
            base) base_times+=("$t") ;;
        esac
    done
    diff -r "$work/a" "$work/b" >/dev/null || { echo "bench: trees differ after round $round" >&2; exit 1; }
    if [ -n "${BASE:-}" ]; then
        diff -r "$work/a" "$work/c" >/dev/null || { echo "bench: BASE tree differs after round $round" >&2; exit 1; }
        printf 'round %d: sed %.3fs  docker-dcosreg %.3fs  BASE %.3fs\n' "$round" "${sed_times[-1]}" "${our_times[-1]}" "${base_times[-1]}"
    else
        printf 'round %d: sed %.3fs  docker-dcosreg %.3fs\n' "$round" "${sed_times[-1]}" "${our_times[-1]}"
    fi
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Ratios are taken round by round (the same machine state for both), then their median.
ratios() { local -n num=$1 den=$2; for i in "${!num[@]}"; do echo "${num[$i]} / ${den[$i]}" | bc -l; done; }
s=$(median "${sed_times[@]}")
o=$(median "${our_times[@]}")
printf '%d files, median of %d rounds: sed -i %.3fs, docker-dcosreg rewrite %.3fs; paired ratio %.2fx (target <= 1.0x)\n' \
    "$files" "$rounds" "$s" "$o" "$(median $(ratios our_times sed_times))"
if [ -n "${BASE:-}" ]; then
    b=$(median "${base_times[@]}")
    printf 'BASE rewrite %.3fs; paired ratio to sed %.2fx; this build / BASE %.2fx\n' \
        "$b" "$(median $(ratios base_times sed_times))" "$(median $(ratios our_times base_times))"
fi
