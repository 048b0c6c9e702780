#!/usr/bin/env bash
# Runtime benchmark on a private dockerd (root only; nothing on the host changes):
#   1. trust -> first pull: `docker-dcosreg trust` followed by the first successful
#      `docker pull` of an image at the VIP (the daemon is not restarted); before each run the
#      trust is removed (`untrust`) and the image deleted.
#   2. build vs plain docker build: `docker-dcosreg build --to external …` of a Dockerfile that
#      names the VIP, against `docker build` of the same file already rewritten, and against
#      `docker pull` of the base image followed by that `docker build` (what `build` does).
#      --no-cache, --network none, the classic builder of the docker CLI on PATH.
#
#   sudo bash benches/runtime.sh            (RUNS=10 by default; HOLD=1 keeps the set-up
#                                            running until Enter, with the commands in $work;
#                                            DCOSREG=/path/to/docker-dcosreg skips the build)
#
# Set-up: a network namespace with a veth pair in 10.207.0.0/16 holding two docker-registry
# processes sharing one storage (the VIP on :443, Marathon-LB on :5000, certificate from
# `docker-dcosreg cert`), and containerd + dockerd (Debian containerd / docker.io) in a private
# mount namespace whose /etc is an overlay, so trust writes /etc/docker/certs.d only there.
# The base image is busybox-static imported from nothing and pushed with skopeo.
# Needs: hyperfine, jq, docker-registry, skopeo, busybox-static, containerd, docker.io, iproute2.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DCOSREG_BENCH_INSIDE:-}" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "benches/runtime.sh: run as root (network and mount namespaces)" >&2; exit 2; }
    for tool in hyperfine jq docker-registry skopeo busybox containerd dockerd ip unshare nsenter; do
        command -v "$tool" >/dev/null || { echo "benches/runtime.sh: $tool is missing" >&2; exit 2; }
    done
    [ -n "${DCOSREG:-}" ] || cargo build --release --locked --quiet
    export DCOSREG_BENCH_INSIDE=1
    exec unshare -m --propagation private bash "$0" "$@"
fi

bin=${DCOSREG:-$PWD/target/release/docker-dcosreg}
work=$(mktemp -d "${TMPDIR:-/tmp}/dcosreg-rtbench.XXXXXX")
n=$(( $$ % 16000 ))
ns="dcosreg-b$n"; hv="drb${n}h"; nv="drb${n}n"
host_ip="10.207.$(( n / 64 )).$(( (n % 64) * 4 + 1 ))"
ip="10.207.$(( n / 64 )).$(( (n % 64) * 4 + 2 ))"
pids=()
cleanup() {
    set +e
    [ -f "$work/docker.pid" ] && kill "$(cat "$work/docker.pid")" 2>/dev/null
    sleep 1
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    ip netns delete "$ns" 2>/dev/null
    ip link delete "$hv" 2>/dev/null
    umount /etc 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# /etc of this mount namespace only.
mkdir -p "$work/etc-upper" "$work/etc-work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$work/etc-upper,workdir=$work/etc-work" /etc

ip netns add "$ns"
ip link add "$hv" type veth peer name "$nv"
ip link set "$nv" netns "$ns"
ip addr add "$host_ip/30" dev "$hv"; ip link set "$hv" up
ip -n "$ns" addr add "$ip/30" dev "$nv"; ip -n "$ns" link set "$nv" up; ip -n "$ns" link set lo up

global=(--internal "$ip" --external "$ip:5000")
"$bin" "${global[@]}" cert --out "$work/certs" >/dev/null
for port in 443 5000; do
    cat > "$work/reg$port.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry-data}}
http:
  addr: $ip:$port
  secret: bench-only
  tls: {certificate: $work/certs/domain.crt, key: $work/certs/domain.key}
YAML
    ip netns exec "$ns" docker-registry serve "$work/reg$port.yml" >"$work/reg$port.log" 2>&1 &
    pids+=("$!")
done

cat > "$work/containerd.toml" <<TOML
version = 2
root = "$work/containerd-root"
state = "$work/containerd-state"
[grpc]
  address = "$work/containerd.sock"
[ttrpc]
  address = "$work/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
TOML
echo '{}' > "$work/daemon.json"
containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
pids+=("$!")
dockerd --containerd "$work/containerd.sock" --data-root "$work/docker-data" --exec-root "$work/docker-exec" \
    --pidfile "$work/docker.pid" -H "unix://$work/docker.sock" --config-file "$work/daemon.json" \
    --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none >"$work/dockerd.log" 2>&1 &
pids+=("$!")
export DOCKER_HOST="unix://$work/docker.sock" DOCKER_CONFIG="$work/docker-client"
unset DOCKER_CONTEXT
for _ in $(seq 300); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
docker version >/dev/null || { tail "$work/dockerd.log" >&2; exit 1; }
for port in 443 5000; do
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/$ip/$port") 2>/dev/null && break; sleep 0.1; done
done

# The base image, made from nothing, pushed to the one registry.
mkdir -p "$work/rootfs/bin"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh echo true; do ln -s busybox "$work/rootfs/bin/$a"; done
tar -C "$work/rootfs" -cf "$work/rootfs.tar" bin
docker import "$work/rootfs.tar" local/busybox:1 >/dev/null
mkdir -p "$work/ca"; cp "$work/certs/ca.crt" "$work/ca/ca.crt"
skopeo copy --quiet --src-daemon-host "$DOCKER_HOST" --dest-cert-dir "$work/ca" \
    docker-daemon:local/busybox:1 "docker://$ip/base/app:1"

# The measured commands, as scripts runnable from inside or outside this namespace.
me=$$
fp=$(openssl x509 -in "$work/certs/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2)
env_line="export DOCKER_HOST='$DOCKER_HOST' DOCKER_CONFIG='$DOCKER_CONFIG'; unset DOCKER_CONTEXT"
cat > "$work/reset.sh" <<EOF
#!/bin/sh
$env_line
nsenter -t $me -m -- $bin ${global[*]} untrust --target docker >/dev/null 2>&1
docker rmi -f $ip/base/app:1 >/dev/null 2>&1
exit 0
EOF
cat > "$work/trust-pull.sh" <<EOF
#!/bin/sh
$env_line
nsenter -t $me -m -- $bin ${global[*]} trust --ca-file $work/certs/ca.crt --fingerprint $fp --target docker --no-verify >/dev/null 2>&1 || exit 1
docker pull -q $ip/base/app:1 >/dev/null
EOF
mkdir -p "$work/ctx"
printf 'FROM %s/base/app:1\nRUN echo built > /built\n' "$ip" > "$work/ctx/Dockerfile"
sed "s#$ip/#$ip:5000/#" "$work/ctx/Dockerfile" > "$work/rewritten.Dockerfile"
cat > "$work/ours.sh" <<EOF
#!/bin/sh
$env_line
exec nsenter -t $me -m -- $bin ${global[*]} build --to external --no-cache --network none -q -t bench:ours $work/ctx >/dev/null
EOF
cat > "$work/plain.sh" <<EOF
#!/bin/sh
$env_line
exec nsenter -t $me -m -- docker build --no-cache --network none -q -t bench:plain -f $work/rewritten.Dockerfile $work/ctx >/dev/null
EOF
cat > "$work/pull-plain.sh" <<EOF
#!/bin/sh
$env_line
nsenter -t $me -m -- docker pull -q $ip:5000/base/app:1 >/dev/null || exit 1
exec nsenter -t $me -m -- docker build --no-cache --network none -q -t bench:plain -f $work/rewritten.Dockerfile $work/ctx >/dev/null
EOF
chmod +x "$work"/*.sh
"$work/reset.sh"
nsenter -t $me -m -- "$bin" "${global[@]}" trust --ca-file "$work/certs/ca.crt" --fingerprint "$fp" --target docker --no-verify >/dev/null 2>&1
"$work/ours.sh" || { echo "benches/runtime.sh: build failed" >&2; exit 1; }

runs=${RUNS:-10}
hyperfine --runs "$runs" --warmup 1 --export-json "$work/trust.json" \
    --prepare "$work/reset.sh" --command-name "trust -> first docker pull" "$work/trust-pull.sh"
nsenter -t $me -m -- "$bin" "${global[@]}" trust --ca-file "$work/certs/ca.crt" --fingerprint "$fp" --target docker --no-verify >/dev/null 2>&1
hyperfine --runs "$runs" --warmup 1 --export-json "$work/build.json" \
    --command-name "docker-dcosreg build" "$work/ours.sh" \
    --command-name "docker build (rewritten file)" "$work/plain.sh" \
    --command-name "docker pull + docker build" "$work/pull-plain.sh"
jq -r '.results[] | "\(.command): median \(.median*1000|round) ms (min \(.min*1000|round), max \(.max*1000|round))"' \
    "$work/trust.json" "$work/build.json"
if [ -n "${HOLD:-}" ]; then
    echo "set-up kept in $work (reset.sh, trust-pull.sh, ours.sh, plain.sh, pull-plain.sh); Enter ends it"
    read -r _ || true
fi
