#!/usr/bin/env bash
# Release artifacts that run on every DC/OS host (glibc 2.17 and newer: CentOS/RHEL 7 on):
#   dist/docker-dcosreg-VERSION-x86_64-linux-gnu.tar.gz   binary, credential-helper link,
#                                                          install.sh, README, licences
#   dist/docker-dcosreg_VERSION-1_amd64.deb                  (cargo-deb)
#   dist/docker-dcosreg-VERSION-1.x86_64.rpm                 (cargo-generate-rpm)
#   dist/SHA256SUMS
# The packages install /usr/bin/docker-dcosreg, the Docker CLI plugin
# /usr/libexec/docker/cli-plugins/docker-dcosreg and the credential helper
# /usr/bin/docker-credential-dcosreg: links to the one binary in the tarball and the .deb,
# copies in the .rpm (cargo-generate-rpm has no symlinks; the xz payload stores them once).
#
# The binary is linked against glibc 2.17 with cargo-zigbuild (zig as the linker). Missing
# tools are installed at the pinned versions below: zig from PyPI (`ziglang`),
# cargo-zigbuild, cargo-deb and cargo-generate-rpm from crates.io.
#
# Usage: ./dist.sh            build dist/
#        ./dist.sh --check    build, then check the artifacts on this machine (root)
set -euo pipefail
cd "$(dirname "$0")"

ZIGLANG_VERSION=0.15.2
CARGO_ZIGBUILD_VERSION=0.24.1
CARGO_DEB_VERSION=3.8.0
# 0.14 is the last line whose packages CentOS/RHEL 7's rpm 4.11 installs.
CARGO_GENERATE_RPM_VERSION=0.14.1
GLIBC=2.17
TRIPLE=x86_64-unknown-linux-gnu

say() { echo "dist.sh: $*" >&2; }
die() { say "$*"; exit 2; }

case "${1:-}" in
    "" | --check) ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 — usage: ./dist.sh [--check]" ;;
esac

command -v cargo >/dev/null || die "cargo is not installed — install a Rust toolchain (https://rustup.rs)"
command -v python3 >/dev/null || die "python3 is not installed — it runs zig from PyPI's ziglang package"

# `cargo install` a pinned version unless `cargo SUBCOMMAND --version` already reports it.
need_cargo_tool() { # crate subcommand version
    local have
    have=$(cargo "$2" --version 2>/dev/null || true)
    if [[ $have != *" $3"* ]]; then
        say "installing $1 $3 from crates.io (cargo install --locked)"
        cargo install --locked --quiet "$1" --version "$3"
    fi
}
# zig: cargo-zigbuild runs `python3 -m ziglang` when no zig is on PATH.
if [[ $(python3 -m ziglang version 2>/dev/null || true) != "$ZIGLANG_VERSION" ]]; then
    say "installing zig $ZIGLANG_VERSION from PyPI (python3 -m pip install ziglang==$ZIGLANG_VERSION)"
    python3 -m pip install --quiet --disable-pip-version-check "ziglang==$ZIGLANG_VERSION"
fi
need_cargo_tool cargo-zigbuild zigbuild "$CARGO_ZIGBUILD_VERSION"
need_cargo_tool cargo-deb deb "$CARGO_DEB_VERSION"
need_cargo_tool cargo-generate-rpm generate-rpm "$CARGO_GENERATE_RPM_VERSION"

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[[ -n $version ]] || die "cannot read the version from Cargo.toml"

say "building docker-dcosreg $version for glibc $GLIBC (cargo zigbuild --release --locked)"
# cargo-zigbuild tries `python3 -m ziglang` (the pinned zig) before a zig on PATH.
# `docker-dcosreg version` names the commit (read at compile time, src/cmd/version.rs).
DCOSREG_COMMIT=${DCOSREG_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || true)} \
    cargo zigbuild --release --locked --target "$TRIPLE.$GLIBC"
binary=target/$TRIPLE/release/docker-dcosreg

# Not one symbol newer than the baseline (the loader refuses the binary otherwise).
newest=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
if [[ $(printf '%s\n%s\n' "$newest" "$GLIBC" | sort -V | tail -n 1) != "$GLIBC" ]]; then
    die "$binary needs GLIBC_$newest, newer than the $GLIBC baseline"
fi

mkdir -p dist
rm -f dist/docker-dcosreg[-_]* dist/SHA256SUMS
# Reproducible archives: fixed times, owners and order.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}

name=docker-dcosreg-$version-x86_64-linux-gnu
stage=target/dist/$name
rm -rf target/dist
mkdir -p "$stage"
install -m 0755 "$binary" "$stage/docker-dcosreg"
ln -s docker-dcosreg "$stage/docker-credential-dcosreg"
install -m 0755 install.sh "$stage/"
install -m 0644 README.md LICENSE-MIT LICENSE-APACHE "$stage/"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
    -C target/dist -cf - "$name" | gzip -9n >"dist/$name.tar.gz"

say "packaging the .deb (cargo deb)"
SOURCE_DATE_EPOCH=$epoch cargo deb --no-build --no-strip --target "$TRIPLE" --output "dist/" >/dev/null
say "packaging the .rpm (cargo generate-rpm)"
# xz: CentOS/RHEL 7's rpm reads no zstd payload.
cargo generate-rpm --target "$TRIPLE" --payload-compress xz --source-date "$epoch" --output "dist/" >/dev/null

(cd dist && sha256sum -- *.tar.gz *.deb *.rpm >SHA256SUMS)
say "wrote:"
(cd dist && ls -l -- * >&2)

[[ ${1:-} == --check ]] || exit 0

# ---------------------------------------------------------------------------------------
# --check: the artifacts on this machine (root: it installs and removes the .deb).
say "checking dist/"
fail() { say "CHECK FAILED: $*"; exit 1; }
ok() { echo "ok: $*"; }
tarball=dist/$name.tar.gz
deb=$(ls dist/*.deb)
rpm=$(ls dist/*.rpm)
(cd dist && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match"
ok "SHA256SUMS matches the 3 artifacts"

# The tarball: binary, helper link, README, licences; its binary is what the tests run.
unpacked=$(mktemp -d)
cleanup_check() {
    rm -rf "$unpacked"
    if dpkg-query -W -f='${Status}' docker-dcosreg 2>/dev/null | grep -q 'ok installed'; then
        dpkg -r docker-dcosreg >/dev/null
    fi
}
trap cleanup_check EXIT
tar -xzf "$tarball" -C "$unpacked"
bin=$unpacked/$name/docker-dcosreg
want="docker-credential-dcosreg -> docker-dcosreg"
# grep reads the whole listing: with pipefail, `grep -q` leaving early would fail tar with SIGPIPE.
tar -tvzf "$tarball" | grep -- "$want" >/dev/null || fail "$tarball: no $want"
for f in docker-dcosreg install.sh README.md LICENSE-MIT LICENSE-APACHE; do
    [[ -f $unpacked/$name/$f ]] || fail "$tarball has no $name/$f"
done
ok "$tarball: $(tar -tzf "$tarball" | tr '\n' ' ')"

newest=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)
[[ $(printf '%s\n%s\n' "${newest#GLIBC_}" "$GLIBC" | sort -V | tail -n 1) == "$GLIBC" ]] ||
    fail "$bin needs $newest"
ok "objdump -T: newest glibc symbol version $newest (baseline GLIBC_$GLIBC)"
"$bin" --version >/dev/null || fail "$bin does not run here"
ok "runs: $("$bin" --version)"

# The .rpm: the three paths (rpm -qlp), the package metadata.
files=$(rpm -qlp "$rpm" 2>/dev/null)
for path in /usr/bin/docker-dcosreg /usr/bin/docker-credential-dcosreg \
    /usr/libexec/docker/cli-plugins/docker-dcosreg; do
    grep -qx "$path" <<<"$files" || fail "$rpm does not install $path"
done
ok "rpm -qlp $rpm: $(tr '\n' ' ' <<<"$files")"
ok "rpm: $(rpm -qp --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}, license %{LICENSE}, payload %{PAYLOADCOMPRESSOR}' "$rpm" 2>/dev/null)"

# The .deb: install it system-wide, run the plugin through the real docker CLI from the
# system plugin directory (an empty HOME and DOCKER_CONFIG: no user plugin dir), remove it.
if [[ -e /usr/bin/docker-dcosreg ]] && ! dpkg -S /usr/bin/docker-dcosreg >/dev/null 2>&1; then
    fail "/usr/bin/docker-dcosreg exists and belongs to no package: not overwriting it"
fi
dpkg -i "$deb" >/dev/null || fail "dpkg -i $deb"
ok "dpkg -i $deb: $(dpkg -L docker-dcosreg | grep -E 'bin/|cli-plugins/' | tr '\n' ' ')"
[[ $(readlink -f /usr/libexec/docker/cli-plugins/docker-dcosreg) == /usr/bin/docker-dcosreg ]] ||
    fail "the plugin is not a link to /usr/bin/docker-dcosreg"
[[ $(readlink -f /usr/bin/docker-credential-dcosreg) == /usr/bin/docker-dcosreg ]] ||
    fail "the credential helper is not a link to /usr/bin/docker-dcosreg"
home=$unpacked/home
mkdir -p "$home"
for docker in /usr/local/bin/docker /usr/bin/docker; do
    [[ -x $docker ]] || continue
    help=$(env -i PATH=/usr/bin:/bin HOME="$home" DOCKER_CONFIG="$home/.docker" \
        "$docker" dcosreg --help 2>&1) || fail "$docker dcosreg --help: $help"
    grep -q "Usage:.*docker dcosreg" <<<"$help" || fail "$docker dcosreg --help printed: $help"
    ok "$docker ($("$docker" --version)) dcosreg --help from /usr/libexec/docker/cli-plugins: $(grep -m1 Usage: <<<"$help")"
done
dpkg -r docker-dcosreg >/dev/null || fail "dpkg -r docker-dcosreg"
for path in /usr/bin/docker-dcosreg /usr/bin/docker-credential-dcosreg \
    /usr/libexec/docker/cli-plugins/docker-dcosreg; do
    [[ ! -e $path && ! -L $path ]] || fail "dpkg -r left $path"
done
ok "dpkg -r docker-dcosreg removed all three paths"

# The CLI tests against the dist binary.
say "running the CLI tests against $tarball's binary (DCOSREG_TEST_BIN)"
DCOSREG_TEST_BIN=$bin cargo test --locked --quiet --test cli --test endpoint --test rewrite
ok "cargo test --test cli --test endpoint --test rewrite with DCOSREG_TEST_BIN=<dist binary>"
say "all checks passed"
