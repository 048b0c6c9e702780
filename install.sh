#!/bin/sh
# Build docker-dcosreg and install it as a Docker CLI plugin and as a command.
# Safe to run twice. Usage: ./install.sh   (PREFIX and DOCKER_CONFIG are honoured)
set -eu

cd "$(dirname "$0")"

if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo is not installed — install a Rust toolchain (https://rustup.rs or 'apt-get install cargo') and run ./install.sh again" >&2
    exit 2
fi

echo "install.sh: building the release binary (cargo build --release --locked)"
cargo build --release --locked

binary="$(pwd)/target/release/docker-dcosreg"

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
