#!/bin/sh
# Build docker-dcosreg and install it as a Docker CLI plugin and as a command.
# Safe to run twice. Usage: ./install.sh   (PREFIX and DOCKER_CONFIG are honoured)
#   ./install.sh --from FILE   installs a prebuilt binary instead (no cargo needed): FILE is
#                              the binary or a release tarball from ./dist.sh
set -eu

from=""
case "${1:-}" in
    "") ;;
    --from) from="${2:-}" ;;
    --from=*) from="${1#--from=}" ;;
    *) echo "install.sh: unknown argument $1 — usage: ./install.sh [--from BINARY|TARBALL]" >&2; exit 2 ;;
esac
if [ "${1:-}" = --from ] && [ -z "$from" ]; then
    echo "install.sh: --from needs a file: the docker-dcosreg binary or a docker-dcosreg-*.tar.gz" >&2
    exit 2
fi
case "$from" in
    "" | /*) ;;
    *) from="$(pwd)/$from" ;;
esac

cd "$(dirname "$0")"

if [ -n "$from" ]; then
    if [ ! -f "$from" ]; then
        echo "install.sh: $from is not a file — pass the docker-dcosreg binary or a docker-dcosreg-*.tar.gz" >&2
        exit 2
    fi
    case "$from" in
        *.tar.gz | *.tgz)
            unpacked="$(mktemp -d)"
            trap 'rm -rf "$unpacked"' EXIT
            tar -xzf "$from" -C "$unpacked"
            binary="$(find "$unpacked" -name docker-dcosreg -type f | head -n 1)"
            if [ -z "$binary" ]; then
                echo "install.sh: $from holds no docker-dcosreg binary — is it a ./dist.sh tarball?" >&2
                exit 2
            fi
            ;;
        *) binary="$from" ;;
    esac
    # A binary built for another libc or architecture fails here, before anything is replaced.
    if ! version="$("$binary" --version 2>&1)"; then
        echo "install.sh: $from does not run on this machine: $version" >&2
        exit 2
    fi
    echo "install.sh: installing $version from $from"
else
    if ! command -v cargo >/dev/null 2>&1; then
        echo "install.sh: cargo is not installed — install a Rust toolchain (https://rustup.rs or 'apt-get install cargo') and run ./install.sh again, or install a prebuilt binary with ./install.sh --from FILE" >&2
        exit 2
    fi

    echo "install.sh: building the release binary (cargo build --release --locked)"
    cargo build --release --locked

    binary="$(pwd)/target/release/docker-dcosreg"
fi

install_to() {
    dir="$1"
    mkdir -p "$dir"
    # Copy then rename, so a running `docker dcosreg` never sees a half-written file.
    cp "$binary" "$dir/.docker-dcosreg.new"
    chmod 0755 "$dir/.docker-dcosreg.new"
    mv -f "$dir/.docker-dcosreg.new" "$dir/docker-dcosreg"
    echo "install.sh: installed $dir/docker-dcosreg"
}

plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
install_to "$plugin_dir"

if [ "$(id -u)" -eq 0 ]; then
    bin_dir="${PREFIX:-/usr/local}/bin"
else
    bin_dir="${PREFIX:+$PREFIX/bin}"
    bin_dir="${bin_dir:-$HOME/.local/bin}"
fi
install_to "$bin_dir"
# The Docker credential helper is the same binary under Docker's helper name: a relative
# link next to it (replaced by rename, so rerunning is safe).
ln -sf docker-dcosreg "$bin_dir/.docker-credential-dcosreg.new"
mv -f "$bin_dir/.docker-credential-dcosreg.new" "$bin_dir/docker-credential-dcosreg"
echo "install.sh: installed $bin_dir/docker-credential-dcosreg (credential helper)"

case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) echo "install.sh: note: $bin_dir is not on PATH; add it to run docker-dcosreg directly" ;;
esac
if command -v docker >/dev/null 2>&1; then
    echo "install.sh: done — try: docker dcosreg --help"
else
    echo "install.sh: done — docker is not installed here; run: docker-dcosreg --help"
fi
