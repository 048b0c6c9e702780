#!/usr/bin/env bash
# Try docker-dcosreg without a cluster.
#
# Two loopback addresses stand in for the DC/OS endpoints: 127.0.0.41 for the Layer-4 VIP
# (port 443 when run as root, else 8443) and 127.0.0.42:5000 for Marathon-LB. The script issues a
# certificate with `cert`, serves it with two real docker-registry processes, then runs `check`
# (untrusted), `trust` into a temporary root, `check` again (trusted), `endpoint`, `rewrite` on a
# sample Dockerfile and `doctor`, and stops what it started. Nothing outside loopback is contacted
# and nothing outside a temporary directory is written.
#
# Needs: docker-registry (apt-get install docker-registry), openssl. Optional: skopeo.
# Usage: examples/local-registry.sh      (DCOSREG=/path/to/docker-dcosreg to pick the binary)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${DCOSREG:-}" ]; then
    if [ -x "$here/../target/debug/docker-dcosreg" ]; then
        DCOSREG="$here/../target/debug/docker-dcosreg"
    elif command -v docker-dcosreg >/dev/null 2>&1; then
        DCOSREG="$(command -v docker-dcosreg)"
    else
        echo "local-registry.sh: docker-dcosreg not found — run ./install.sh or cargo build first" >&2
        exit 2
    fi
fi
for tool in docker-registry openssl; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "local-registry.sh: $tool is missing — sudo apt-get install $( [ "$tool" = docker-registry ] && echo docker-registry || echo openssl )" >&2
        exit 2
    }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/dcosreg-demo.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

vip_ip=127.0.0.41
mlb_ip=127.0.0.42
if [ "$(id -u)" -eq 0 ]; then vip_port=443; internal="$vip_ip"; else vip_port=8443; internal="$vip_ip:$vip_port"; fi
external="$mlb_ip:5000"

# Everything the tool reads or writes stays in $work; the user's config is not read.
export DCOSREG_INTERNAL="$internal" DCOSREG_EXTERNAL="$external" DCOSREG_ROOT="$work/root"
export DCOSREG_TIMEOUT=2s DCOSREG_CONFIG="$work/config.toml"
: > "$DCOSREG_CONFIG"
mkdir -p "$work/root"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ docker dcosreg %s\n' "$*"; "$DCOSREG" "$@"; }
fail() { echo "local-registry.sh: FAILED: $*" >&2; exit 1; }

step "Issue a CA and a registry certificate naming $internal and $external"
run cert --out "$work/certs"

serve() { # ip port
    local dir="$work/registry-$1-$2"
    mkdir -p "$dir/data"
    cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: $1:$2
  secret: demo-only-secret
  tls:
    certificate: $work/certs/domain.crt
    key: $work/certs/domain.key
YAML
    docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    cat "$dir/log" >&2
    fail "docker-registry did not listen on $1:$2 within 10 s"
}

step "Start two real registries: the 'VIP' on $vip_ip:$vip_port and the 'Marathon-LB' on $external"
serve "$vip_ip" "$vip_port"
serve "$mlb_ip" 5000

step "Before trust: Docker would refuse both endpoints"
if run check; then fail "check said trusted before trust"; fi

step "Trust the CA presented by the registries, pinned by its fingerprint"
fingerprint="$(openssl x509 -in "$work/certs/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2)"
run trust --fingerprint "$fingerprint" --target docker,containers
find "$work/root" -type f | sed "s#^$work/root#  #" | sort

step "After trust: both endpoints are trusted exactly as Docker would judge them"
run check || fail "check after trust"

step "Which endpoint can this machine reach? (the internal one wins when both answer)"
chosen="$(run endpoint | tail -n 1)"
echo "$chosen"
[ "$chosen" = "$internal" ] || fail "endpoint chose '$chosen', expected '$internal'"

step "Retarget a Dockerfile written for inside the cluster to the external endpoint"
cat > "$work/Dockerfile" <<DOCKERFILE
FROM $internal/base/docker-tomcat-base:8 AS base
COPY --from=$internal/tools/jq:1.6 /usr/bin/jq /usr/bin/jq
FROM base
RUN echo "$internal/stays-as-is-in-shell-text"
DOCKERFILE
run rewrite --to external --diff "$work/Dockerfile" || true
run rewrite --to external "$work/Dockerfile"
cat "$work/Dockerfile"
grep -q "^FROM $external/base/docker-tomcat-base:8 AS base" "$work/Dockerfile" || fail "FROM not rewritten"
grep -q "echo \"$internal/stays-as-is-in-shell-text\"" "$work/Dockerfile" || fail "RUN text changed"

if command -v skopeo >/dev/null 2>&1; then
    step "A real Go client (skopeo) agrees: the TLS handshake now passes"
    out="$(skopeo inspect --retry-times 0 --cert-dir "$work/root/etc/docker/certs.d/$external" "docker://$external/demo/none:1" 2>&1 || true)"
    echo "$out" | tail -n 1
    case "$out" in *"manifest unknown"*) ;; *) fail "skopeo did not get past TLS" ;; esac
fi

step "doctor: nothing left to fix for these endpoints"
run doctor --offline || fail "doctor found errors"

step "Done: everything ran against loopback and is removed now"
