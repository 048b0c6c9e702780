#!/usr/bin/env bash
# Try docker-dcosreg without a cluster.
#
# Two loopback addresses stand in for the DC/OS endpoints: 127.0.0.41 for the Layer-4 VIP
# (port 443 when run as root, else 8443) and 127.0.0.42:5000 for Marathon-LB. The script issues a
# certificate with `cert`, serves it with two real docker-registry processes sharing one storage
# (one registry, two ways in), then runs `check` (untrusted), `trust` into a temporary root,
# `check` again (trusted), `endpoint`, `rewrite` on a sample Dockerfile, pushes an image made
# from nothing (busybox-static, or one file) through Marathon-LB and pulls it back through the
# VIP with skopeo, verifying with the trusted CA, and, when a Docker daemon answers, with
# `docker pull` and `docker run`; then `doctor`, and stops what it started. Nothing outside
# loopback is contacted and nothing outside a temporary directory is written (the image pulled
# into a Docker daemon is removed again).
#
# Needs: docker-registry (apt-get install docker-registry), openssl, sha256sum, gzip, tar.
# Optional: skopeo, busybox-static, a docker daemon (DOCKER_HOST is honoured).
# Usage: examples/local-registry.sh      (DCOSREG=/path/to/docker-dcosreg to pick the binary)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${DCOSREG:-}" ]; then
    if [ -x "$here/../target/debug/docker-dcosreg" ]; then
        DCOSREG="$here/../target/debug/docker-dcosreg"
    elif [ -x "$here/../target/release/docker-dcosreg" ]; then
        DCOSREG="$here/../target/release/docker-dcosreg"   # what ./install.sh built
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
# The environment every command below runs in: a command copied out of this output means
# the same thing with these set.
echo "Environment for the commands below:"
for name in DCOSREG_INTERNAL DCOSREG_EXTERNAL DCOSREG_ROOT DCOSREG_TIMEOUT DCOSREG_CONFIG; do
    printf '  export %s=%q\n' "$name" "${!name}"
done

# Bold headings on a terminal only: no ANSI into pipes and logs.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ docker dcosreg %s\n' "$*"; "$DCOSREG" "$@"; }
fail() { echo "local-registry.sh: FAILED: $*" >&2; exit 1; }

step "Issue a CA and a registry certificate naming $internal and $external"
run cert --out "$work/certs"

serve() { # ip port — both registries serve one storage directory
    local dir="$work/registry-$1-$2"
    mkdir -p "$dir" "$work/registry-data"
    cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry-data
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

# An OCI image layout made from nothing: one layer holding busybox-static (or a single file
# when busybox is not installed), its config and manifest, digests computed here.
make_image() { # dir
    local img="$1" rootfs="$work/rootfs" arch
    mkdir -p "$img/blobs/sha256" "$rootfs/bin"
    # busybox-static only: a dynamic busybox would need its libraries in the image.
    if command -v busybox >/dev/null 2>&1 && ! ldd "$(command -v busybox)" >/dev/null 2>&1; then
        cp "$(command -v busybox)" "$rootfs/bin/busybox"
        ln -s busybox "$rootfs/bin/sh"
    else
        echo "made from nothing by docker-dcosreg's demo" > "$rootfs/bin/README"
    fi
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" bin
    local diff_id; diff_id="$(sha256sum < "$work/layer.tar" | cut -d' ' -f1)"
    gzip -n -c "$work/layer.tar" > "$work/layer.tar.gz"
    blob() { # file -> prints "digest size", stores the blob
        local d; d="$(sha256sum < "$1" | cut -d' ' -f1)"
        cp "$1" "$img/blobs/sha256/$d"
        echo "$d $(wc -c < "$1")"
    }
    case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
    read -r layer layer_size < <(blob "$work/layer.tar.gz")
    printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
        "$arch" "$diff_id" > "$work/config.json"
    read -r config config_size < <(blob "$work/config.json")
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
        "$config" "$config_size" "$layer" "$layer_size" > "$work/manifest.json"
    read -r manifest manifest_size < <(blob "$work/manifest.json")
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"1"}}]}' \
        "$manifest" "$manifest_size" > "$img/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' > "$img/oci-layout"
    echo "sha256:$manifest"
}

if command -v skopeo >/dev/null 2>&1; then
    step "Push an image made from nothing through Marathon-LB, pull it back through the VIP (skopeo, TLS verified with the trusted CA)"
    digest="$(make_image "$work/image")"
    echo "image digest: $digest"
    certs="$work/root/etc/docker/certs.d"
    echo "\$ skopeo copy oci:image:1 docker://$external/demo/busybox:1"
    skopeo copy --quiet --retry-times 0 --dest-cert-dir "$certs/$external" \
        "oci:$work/image:1" "docker://$external/demo/busybox:1" || fail "skopeo push through $external"
    echo "\$ skopeo copy docker://$internal/demo/busybox:1 oci:pulled:1"
    skopeo copy --quiet --retry-times 0 --src-cert-dir "$certs/$internal" \
        "docker://$internal/demo/busybox:1" "oci:$work/pulled:1" || fail "skopeo pull through $internal"
    pulled="$(skopeo inspect --retry-times 0 --cert-dir "$certs/$internal" --format '{{.Digest}}' "docker://$internal/demo/busybox:1")"
    echo "pulled back through $internal: $pulled"
    [ "$pulled" = "$digest" ] || fail "the registry served $pulled, we pushed $digest"
    # Without the trusted CA the same pull is refused: the CA is what made it work.
    if skopeo inspect --retry-times 0 --cert-dir "$work/no-ca" "docker://$internal/demo/busybox:1" >/dev/null 2>"$work/untrusted.err"; then
        fail "skopeo pulled without the CA"
    fi
    echo "without the CA: $(tail -n 1 "$work/untrusted.err")"

    if command -v docker >/dev/null 2>&1 && timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        step "A Docker daemon answers: docker pull and run the same image"
        echo "(dockerd treats 127.0.0.0/8 as an insecure registry, so this proves the image, not TLS)"
        echo "\$ docker pull $external/demo/busybox:1"
        docker pull "$external/demo/busybox:1" || fail "docker pull $external/demo/busybox:1"
        got="$(docker image inspect --format '{{index .RepoDigests 0}}' "$external/demo/busybox:1")"
        echo "docker has $got"
        [ "$got" = "$external/demo/busybox@$digest" ] || fail "docker pulled $got, we pushed $digest"
        if [ -e "$work/rootfs/bin/busybox" ]; then
            docker run --rm --network none "$external/demo/busybox:1" /bin/busybox echo "hello from the pulled image" \
                || fail "docker run of the pulled image"
        fi
        docker rmi "$external/demo/busybox:1" >/dev/null
    else
        echo "(no Docker daemon answers here: docker pull skipped)"
    fi
fi

step "doctor: nothing left to fix for these endpoints"
run doctor --offline || fail "doctor found errors"

step "Done: everything ran against loopback and is removed now"
