#!/usr/bin/env bash
# Release artifacts that run on every DC/OS host (glibc 2.17 and newer: CentOS/RHEL 7 on):
#   dist/docker-dcosreg-VERSION-x86_64-linux-gnu.tar.gz   binary, credential-helper link,
#                                                          man pages, completions (share/),
#                                                          install.sh, README, licences
#   dist/docker-dcosreg_VERSION-1_amd64.deb                  (cargo-deb)
#   dist/docker-dcosreg-VERSION-1.x86_64.rpm                 (rpmbuild, packaging/*.spec)
#   dist/SHA256SUMS (and SHA256SUMS.asc when signing)
# The packages install /usr/bin/docker-dcosreg, the Docker CLI plugin
# /usr/libexec/docker/cli-plugins/docker-dcosreg and the credential helper
# /usr/bin/docker-credential-dcosreg (links to the one binary), the man pages in
# /usr/share/man/man1 and the bash, zsh and fish completions in the distribution's directories.
#
# The binary is linked against glibc 2.17 with cargo-zigbuild (zig as the linker). Missing
# tools are installed at the pinned versions below: zig from PyPI (`ziglang`),
# cargo-zigbuild and cargo-deb from crates.io; rpmbuild comes with the `rpm` package.
#
# Environment:
#   DCOSREG_MAINTAINER="Name <mail>"  the packages' Maintainer/Packager and changelog signer
#                                     (default: a placeholder at maintainer.invalid)
#   DCOSREG_URL=https://...           the packages' home page (default: none, the project has
#                                     no public one)
#   DCOSREG_GPG_KEY=KEYID             sign the .rpm and SHA256SUMS (SHA256SUMS.asc) with this
#                                     RSA key from gpg's keyring (GNUPGHOME); no passphrase prompt
#
# Usage: ./dist.sh            build dist/
#        ./dist.sh --check    build, then check the artifacts on this machine (root), lintian
#                             and rpmlint included
set -euo pipefail
cd "$(dirname "$0")"

ZIGLANG_VERSION=0.15.2
CARGO_ZIGBUILD_VERSION=0.24.1
CARGO_DEB_VERSION=3.8.0
GLIBC=2.17
TRIPLE=x86_64-unknown-linux-gnu

say() { echo "dist.sh: $*" >&2; }
die() { say "$*"; exit 2; }

case "${1:-}" in
    "" | --check) ;;
    -h | --help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 — usage: ./dist.sh [--check]" ;;
esac

command -v cargo >/dev/null || die "cargo is not installed — install a Rust toolchain (https://rustup.rs)"
command -v python3 >/dev/null || die "python3 is not installed — it runs zig from PyPI's ziglang package"
command -v rpmbuild >/dev/null || die "rpmbuild is not installed — apt-get install rpm (Debian, Ubuntu) or dnf install rpm-build"

# `cargo install` a pinned version unless `cargo-SUBCOMMAND --version` already reports it
# (`cargo zigbuild --version` is not an option of zigbuild's).
need_cargo_tool() { # crate subcommand version
    local have
    have=$("cargo-$2" --version 2>/dev/null || true)
    if [[ $have != *" $3"* ]]; then
        say "installing $1 $3 from crates.io (cargo install --locked)"
        cargo install --locked --quiet "$1" --version "$3"
    fi
}
# zig: cargo-zigbuild runs `python3 -m ziglang` when no zig is on PATH.
if [[ $(python3 -m ziglang version 2>/dev/null || true) != "$ZIGLANG_VERSION" ]]; then
    say "installing zig $ZIGLANG_VERSION from PyPI (python3 -m pip install ziglang==$ZIGLANG_VERSION)"
    # A distribution's python refuses a global install (PEP 668) unless told it may.
    python3 -m pip install --quiet --disable-pip-version-check "ziglang==$ZIGLANG_VERSION" ||
        python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
            "ziglang==$ZIGLANG_VERSION"
fi
need_cargo_tool cargo-zigbuild zigbuild "$CARGO_ZIGBUILD_VERSION"
need_cargo_tool cargo-deb deb "$CARGO_DEB_VERSION"

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

# The packages' maintainer, home page and release; the changelog in both formats.
maintainer=${DCOSREG_MAINTAINER:-"DCOSREG_MAINTAINER not set <docker-dcosreg@maintainer.invalid>"}
[[ $maintainer =~ ^[^\<\>,@]+\ \<[^\<\>@\ ]+@[^\<\>@\ ]+\>$ ]] ||
    die "DCOSREG_MAINTAINER must read \"Name <mail@host>\", not: $maintainer"
url=${DCOSREG_URL:-}
release=1
# Fixed, so the .rpm does not name the machine it was built on (and stays reproducible).
buildhost=${DCOSREG_BUILDHOST:-docker-dcosreg.dist}
top=$(sed -n 's/^\([0-9][^ ]*\) .*/\1/p' packaging/changelog | head -n 1)
[[ $top == "$version-$release" ]] ||
    die "packaging/changelog's first entry is ${top:-missing}, not $version-$release: add an entry for this release"
long=$(grep -n '^[^#].\{77,\}' packaging/changelog || true)
[[ -z $long ]] || die "packaging/changelog: lines over 76 columns (Debian's changelog allows 80): $long"
changelog() { # deb|rpm — packaging/changelog in Debian's or RPM's format
    local line ver day open=""
    while IFS= read -r line || [[ -n $line ]]; do
        case $line in
            "#"* | "") ;;
            "- "*) if [[ $1 == deb ]]; then echo "  * ${line#- }"; else echo "$line"; fi ;;
            "  "*) if [[ $1 == deb ]]; then echo "  $line"; else echo "$line"; fi ;;
            *)
                read -r ver day <<<"$line"
                [[ $ver =~ ^[0-9][^[:space:]]*-[0-9]+$ && ${day:-} =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] ||
                    die "packaging/changelog: not \"VERSION-RELEASE YYYY-MM-DD\": $line"
                if [[ $1 == deb ]]; then
                    [[ -z $open ]] || printf '\n -- %s  %s\n\n' "$maintainer" "$open"
                    printf 'docker-dcosreg (%s) unstable; urgency=medium\n\n' "$ver"
                    open=$(LC_ALL=C date -u -R -d "$day")
                else
                    [[ -z $open ]] || echo
                    open=1
                    printf '* %s %s - %s\n' "$(LC_ALL=C date -u -d "$day" '+%a %b %d %Y')" "$maintainer" "$ver"
                fi
                ;;
        esac
    done <packaging/changelog
    [[ $1 == rpm || -z $open ]] || printf '\n -- %s  %s\n' "$maintainer" "$open"
}

mkdir -p dist
rm -f dist/docker-dcosreg[-_]* dist/SHA256SUMS dist/SHA256SUMS.asc
# Reproducible archives: fixed times, owners and order.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
rm -rf target/dist
mkdir -p target/dist

# Man pages and completions from the binary itself (they match it); gzipped for the packages
# (Debian policy; -n: no name or time inside, reproducible).
generated=target/dist/generated
"$binary" __generate "$generated" >/dev/null
pkg=target/dist/pkg
mkdir -p "$pkg/man1"
for page in "$generated"/man1/*.1; do
    gzip -9n <"$page" >"$pkg/man1/${page##*/}.gz"
done
cp -R "$generated/completions" "$pkg/"
install -m 0755 "$binary" "$pkg/docker-dcosreg"
install -m 0644 README.md LICENSE-MIT LICENSE-APACHE "$pkg/"
changelog deb >target/dist/changelog.Debian

name=docker-dcosreg-$version-x86_64-linux-gnu
stage=target/dist/$name
mkdir -p "$stage"
install -m 0755 "$binary" "$stage/docker-dcosreg"
ln -s docker-dcosreg "$stage/docker-credential-dcosreg"
install -m 0755 install.sh "$stage/"
install -m 0644 README.md LICENSE-MIT LICENSE-APACHE "$stage/"
# share/ as under a PREFIX (install.sh --from regenerates them from the binary anyway).
install -D -m 0644 -t "$stage/share/man/man1" "$generated"/man1/*.1
install -D -m 0644 "$generated/completions/bash/docker-dcosreg" "$stage/share/bash-completion/completions/docker-dcosreg"
install -D -m 0644 "$generated/completions/zsh/_docker-dcosreg" "$stage/share/zsh/site-functions/_docker-dcosreg"
install -D -m 0644 "$generated/completions/fish/docker-dcosreg.fish" "$stage/share/fish/vendor_completions.d/docker-dcosreg.fish"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
    -C target/dist -cf - "$name" | gzip -9n >"dist/$name.tar.gz"

say "packaging the .deb (cargo deb)"
SOURCE_DATE_EPOCH=$epoch cargo deb --no-build --no-strip --target "$TRIPLE" \
    --maintainer "$maintainer" --output "dist/" >/dev/null
say "packaging the .rpm (rpmbuild packaging/docker-dcosreg.spec)"
{ cat packaging/docker-dcosreg.spec; echo "%changelog"; changelog rpm; } >target/dist/docker-dcosreg.spec
rpm_defines=(
    --define "_topdir $PWD/target/dist/rpmbuild" --define "_rpmdir $PWD/dist"
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm"
    --define "dcosreg_stage $PWD/$pkg" --define "dcosreg_version $version"
    --define "dcosreg_release $release" --define "dcosreg_packager $maintainer"
    --define "dcosreg_buildhost $buildhost"
)
[[ -z $url ]] || rpm_defines+=(--define "dcosreg_url $url")
SOURCE_DATE_EPOCH=$epoch rpmbuild -bb --quiet --target x86_64-linux "${rpm_defines[@]}" \
    target/dist/docker-dcosreg.spec >/dev/null

signed=""
# DCOSREG_GPG_KEY=throwaway: a key made for this run only (target/dist/gnupg), to test signing.
if [[ ${DCOSREG_GPG_KEY:-} == throwaway ]]; then
    export GNUPGHOME=$PWD/target/dist/gnupg
    mkdir -m 0700 "$GNUPGHOME"
    # RSA: CentOS/RHEL 7's rpm verifies no EdDSA signature (gpg's default key type).
    gpg --batch --quiet --passphrase '' --quick-gen-key \
        "docker-dcosreg throwaway test key <throwaway@example.org>" rsa3072 sign 1d 2>/dev/null
    DCOSREG_GPG_KEY=$(gpg --batch --with-colons --list-secret-keys | awk -F: '$1 == "fpr" { print $10; exit }')
fi
if [[ -n ${DCOSREG_GPG_KEY:-} ]]; then
    say "signing the .rpm and SHA256SUMS with $DCOSREG_GPG_KEY (gpg, GNUPGHOME=${GNUPGHOME:-~/.gnupg})"
    command -v gpg >/dev/null || die "gpg is not installed — apt-get install gnupg"
    # rpm's %__gpg is gpg2 on some distributions (Debian's): the gpg on PATH instead. SHA-256,
    # not the key's preference, as RHEL 7 signs.
    out=$(rpmsign --addsign --define "__gpg $(command -v gpg)" --define "_gpg_name $DCOSREG_GPG_KEY" \
        --define "_gpg_digest_algo sha256" dist/*.rpm 2>&1) || die "rpmsign --addsign with $DCOSREG_GPG_KEY failed: $out"
    signed=1
fi
(cd dist && sha256sum -- *.tar.gz *.deb *.rpm >SHA256SUMS)
if [[ -n $signed ]]; then
    gpg --batch --yes --local-user "$DCOSREG_GPG_KEY" --armor --detach-sign \
        --output dist/SHA256SUMS.asc dist/SHA256SUMS
    # The agent gpg started for the throwaway key's home: it is not needed any more.
    [[ ${GNUPGHOME:-} != "$PWD/target/dist/gnupg" ]] || gpgconf --kill gpg-agent
fi
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

# The tarball: binary, helper link, README, licences, share/; its binary is what the tests run.
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
for f in docker-dcosreg install.sh README.md LICENSE-MIT LICENSE-APACHE share/man/man1/docker-dcosreg.1 \
    share/man/man1/docker-credential-dcosreg.1 share/bash-completion/completions/docker-dcosreg \
    share/zsh/site-functions/_docker-dcosreg share/fish/vendor_completions.d/docker-dcosreg.fish; do
    [[ -f $unpacked/$name/$f ]] || fail "$tarball has no $name/$f"
done
ok "$tarball: $(tar -tzf "$tarball" | tr '\n' ' ')"

newest=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)
[[ $(printf '%s\n%s\n' "${newest#GLIBC_}" "$GLIBC" | sort -V | tail -n 1) == "$GLIBC" ]] ||
    fail "$bin needs $newest"
ok "objdump -T: newest glibc symbol version $newest (baseline GLIBC_$GLIBC)"
"$bin" --version >/dev/null || fail "$bin does not run here"
ok "runs: $("$bin" --version)"

# The .rpm: its paths and links (rpm -qp), the metadata, what CentOS/RHEL 7's rpm 4.11 reads.
files=$(rpm -qp --qf '[%{FILENAMES} -> %{FILELINKTOS}\n]' "$rpm" 2>/dev/null)
for path in "/usr/bin/docker-dcosreg -> " "/usr/bin/docker-credential-dcosreg -> docker-dcosreg" \
    "/usr/libexec/docker/cli-plugins/docker-dcosreg -> ../../../bin/docker-dcosreg" \
    "/usr/share/man/man1/docker-dcosreg.1.gz -> " "/usr/share/man/man1/docker-dcosreg-trust.1.gz -> " \
    "/usr/share/man/man1/docker-credential-dcosreg.1.gz -> " \
    "/usr/share/bash-completion/completions/docker-dcosreg -> " \
    "/usr/share/zsh/site-functions/_docker-dcosreg -> " \
    "/usr/share/fish/vendor_completions.d/docker-dcosreg.fish -> "; do
    grep -qxF -- "$path" <<<"$files" || fail "$rpm does not install $path"
done
ok "rpm -qlp $rpm: $(rpm -qlp "$rpm" 2>/dev/null | tr '\n' ' ')"
ok "rpm: $(rpm -qp --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}, license %{LICENSE}, group %{GROUP}, packager %{PACKAGER}, buildhost %{BUILDHOST}, payload %{PAYLOADCOMPRESSOR}, changelog by %{CHANGELOGNAME}' "$rpm" 2>/dev/null)"
# The rpmlib() features rpm 4.11 provides (lib/rpmds.c there); newer ones make it refuse the package.
rpm411=" BuiltinLuaScripts CompressedFileNames ConcurrentAccess ExplicitPackageProvide FileCaps
    FileDigests HeaderLoadSortsTags PartialHardlinkSets PayloadFilesHavePrefix PayloadIsBzip2
    PayloadIsLzma PayloadIsXz ScriptletExpansion ScriptletInterpreterArgs TildeInVersions
    VersionedDependencies "
features=$(rpm -qp --requires "$rpm" 2>/dev/null | sed -n 's/^rpmlib(\([A-Za-z]*\)).*/\1/p')
for feature in $features; do
    [[ ${rpm411//$'\n'/ } == *" $feature "* ]] || fail "$rpm requires rpmlib($feature), which rpm 4.11 lacks"
done
[[ $(rpm -qp --qf '%{PAYLOADCOMPRESSOR} %{FILEDIGESTALGO}' "$rpm" 2>/dev/null) == "xz 8" ]] ||
    fail "$rpm: not an xz payload with SHA-256 file digests"
ok "rpm 4.11 reads it: xz payload, SHA-256 file digests, rpmlib($(tr '\n' ' ' <<<"$features" | sed 's/ $//; s/ /, /g'))"

# The signatures, checked with the public key alone as on a node (an rpm keyring of its own:
# rpmlint's `rpm -Kv` reads it too, through HOME's .rpmmacros).
rpmhome=$unpacked/rpmhome
keys=$rpmhome/rpmdb
mkdir -p "$keys"
echo "%_dbpath $keys" >"$rpmhome/.rpmmacros"
if [[ -n $signed ]]; then
    gpg --batch --armor --export "$DCOSREG_GPG_KEY" >"$unpacked/key.asc"
    rpmkeys --dbpath "$keys" --import "$unpacked/key.asc"
    sig=$(rpmkeys --dbpath "$keys" -Kv "$rpm" 2>&1) || fail "rpm -K $rpm:"$'\n'"$sig"
    grep -q 'Header V4 RSA/SHA256 Signature, key ID .*: OK' <<<"$sig" || fail "rpm -K $rpm:"$'\n'"$sig"
    ok "rpm -K $rpm: $(grep -m1 Signature <<<"$sig" | sed 's/^ *//')"
    gpg --batch --verify dist/SHA256SUMS.asc dist/SHA256SUMS 2>/dev/null || fail "gpg --verify dist/SHA256SUMS.asc"
    ok "gpg --verify dist/SHA256SUMS.asc dist/SHA256SUMS: good signature by $DCOSREG_GPG_KEY"
else
    [[ ! -e dist/SHA256SUMS.asc ]] || fail "dist/SHA256SUMS.asc without a key"
fi

# The linters, as administrators who mirror the packages run them: any error or warning fails,
# except those overridden with a reason (packaging/lintian-overrides, shipped in the .deb as
# lintian wants, and packaging/rpmlintrc); packaging/rpmlint.toml sets what RHEL's rpmlint
# configuration would (gzip man pages, the licence list).
lint=$(lintian --fail-on error,warning --tag-display-limit 0 "$deb" 2>&1) ||
    fail "lintian $deb:"$'\n'"$lint"
lint=$(grep -v 'running with root privileges' <<<"$lint" || true)
ok "lintian $deb: ${lint:-no tags}"
# Findings that depend on the environment are filtered only when they apply, with their reason.
rpmlintrc=$unpacked/rpmlintrc
{
    cat packaging/rpmlintrc
    if [[ -z $signed ]]; then
        echo "# No DCOSREG_GPG_KEY was given: this build is unsigned on purpose (dist.sh signs when asked)."
        echo 'addFilter("no-signature")'
    fi
    if [[ -z $url ]]; then
        echo "# No DCOSREG_URL was given: the project has no public home page to name."
        echo 'addFilter("no-url-tag")'
    fi
    # rpmlint before 2.5 takes a man page's section for its name: every binary "has none"
    # (rpmlint#918, fixed by 393cde4e); the file-list check above found both pages.
    if [[ $(printf '%s\n2.5\n' "$(rpmlint --version)" | sort -V | head -n 1) != 2.5 ]]; then
        echo "# rpmlint < 2.5 misreads man page names (rpmlint#918); both pages are there."
        echo 'addFilter("no-manual-page-for-binary docker-(credential-)?dcosreg$")'
    fi
} >"$rpmlintrc"
lint=$(HOME=$rpmhome rpmlint --strict -c packaging/rpmlint.toml -r "$rpmlintrc" "$rpm" 2>&1) || fail "rpmlint $rpm:"$'\n'"$lint"
grep -q ' 0 errors, 0 warnings' <<<"$lint" || fail "rpmlint $rpm:"$'\n'"$lint"
ok "rpmlint $rpm: $(tail -n 1 <<<"$lint")"

# The .deb: install it system-wide, run the plugin through the real docker CLI from the
# system plugin directory (an empty HOME and DOCKER_CONFIG: no user plugin dir), remove it.
if [[ -e /usr/bin/docker-dcosreg ]] && ! dpkg -S /usr/bin/docker-dcosreg >/dev/null 2>&1; then
    fail "/usr/bin/docker-dcosreg exists and belongs to no package: not overwriting it"
fi
dpkg -i "$deb" >/dev/null || fail "dpkg -i $deb"
ok "dpkg -i $deb: $(dpkg -L docker-dcosreg | grep -E 'bin/|cli-plugins/' | tr '\n' ' ')"
# man finds the pages where Debian puts them; the completions are where the shells look.
[[ $(man -w docker-dcosreg 2>&1) == /usr/share/man/man1/docker-dcosreg.1.gz ]] ||
    fail "man -w docker-dcosreg: $(man -w docker-dcosreg 2>&1)"
MANWIDTH=100 man -P cat docker-dcosreg-trust 2>/dev/null | grep -- --target >/dev/null ||
    fail "man docker-dcosreg-trust does not describe --target"
ok "man -w docker-dcosreg: $(man -w docker-dcosreg); man docker-dcosreg-trust describes --target"
for path in /usr/share/bash-completion/completions/docker-dcosreg \
    /usr/share/zsh/vendor-completions/_docker-dcosreg \
    /usr/share/fish/vendor_completions.d/docker-dcosreg.fish; do
    [[ -f $path ]] || fail "dpkg -i $deb installed no $path"
done
bash -c 'source /usr/share/bash-completion/completions/docker-dcosreg && complete -p docker-dcosreg' >/dev/null ||
    fail "bash does not load /usr/share/bash-completion/completions/docker-dcosreg"
ok "completions: bash (complete -p docker-dcosreg), zsh vendor-completions, fish vendor_completions.d"
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
    /usr/libexec/docker/cli-plugins/docker-dcosreg /usr/share/man/man1/docker-dcosreg.1.gz \
    /usr/share/bash-completion/completions/docker-dcosreg; do
    [[ ! -e $path && ! -L $path ]] || fail "dpkg -r left $path"
done
ok "dpkg -r docker-dcosreg removed the commands, man pages and completions"

# The CLI tests against the dist binary.
say "running the CLI tests against $tarball's binary (DCOSREG_TEST_BIN)"
DCOSREG_TEST_BIN=$bin cargo test --locked --quiet --test cli --test endpoint --test rewrite
ok "cargo test --test cli --test endpoint --test rewrite with DCOSREG_TEST_BIN=<dist binary>"
say "all checks passed"
