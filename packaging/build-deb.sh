#!/usr/bin/env bash
# Builds the Debian package of keepalived-rs with dpkg-deb alone:
#   packaging/build-deb.sh [--binary PATH] [--pages DIR] OUTDIR
# It installs /usr/sbin/keepalived-rs, the systemd unit and its options file
# (/etc/default/keepalived-rs, a conffile), the manual pages keepalived-rs(8) and
# keepalived.conf(5), the bash completion, and the keyword reference. Without --binary
# it builds the release binary; without --pages it generates the pages with
# `cargo run --example manual`. The package conflicts with keepalived: it installs the
# same keepalived.conf(5) and runs in its place.
set -euo pipefail

binary=""
pages=""
while [ $# -gt 1 ]; do
  case "$1" in
    --binary) binary="$(realpath -m -- "$2")"; shift 2 ;;
    --pages) pages="$(realpath -m -- "$2")"; shift 2 ;;
    *) echo "build-deb: unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: build-deb.sh [--binary PATH] [--pages DIR] OUTDIR" >&2; exit 2; }
# Paths are taken from where the script is run; the build runs at the repository root.
out="$(realpath -m -- "$1")"
cd "$(dirname "$0")/.."
mkdir -p "$out"

if [ -z "$binary" ]; then
  cargo build --release -p keepalived-linux --bin keepalived-rs
  binary=target/release/keepalived-rs
fi
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
if [ -z "$pages" ]; then
  pages="$stage/pages"
  cargo run -q --release -p keepalived-linux --example manual -- "$pages"
fi

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
arch="$(dpkg --print-architecture)"
# The newest glibc symbol version the binary uses is the least glibc it needs.
glibc="$(objdump -T "$binary" | { grep -o 'GLIBC_[0-9.]*' || true; } | sed 's/GLIBC_//' | sort -uV | tail -1)"
[ -n "$glibc" ] || { echo "build-deb: $binary uses no versioned glibc symbol: not a glibc binary?" >&2; exit 1; }

root="$stage/root"
install -D -m 755 "$binary" "$root/usr/sbin/keepalived-rs"
strip --strip-unneeded "$root/usr/sbin/keepalived-rs"
install -D -m 644 packaging/keepalived-rs.service "$root/lib/systemd/system/keepalived-rs.service"
install -D -m 644 packaging/keepalived-rs.default "$root/etc/default/keepalived-rs"
install -D -m 644 "$pages/keepalived-rs.8" "$root/usr/share/man/man8/keepalived-rs.8"
install -D -m 644 "$pages/keepalived.conf.5" "$root/usr/share/man/man5/keepalived.conf.5"
gzip -9n "$root/usr/share/man/man8/keepalived-rs.8" "$root/usr/share/man/man5/keepalived.conf.5"
install -D -m 644 "$pages/keepalived-rs.bash" "$root/usr/share/bash-completion/completions/keepalived-rs"
install -D -m 644 README.md "$root/usr/share/doc/keepalived-rs/README.md"
install -D -m 644 docs/keywords.md "$root/usr/share/doc/keepalived-rs/keywords.md"

mkdir -p "$root/DEBIAN"
size="$(du -sk "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: keepalived-rs
Version: $version
Architecture: $arch
Maintainer: keepalived-rs developers <keepalived-rs@localhost>
Installed-Size: $size
Depends: libc6 (>= $glibc), libgcc-s1
Conflicts: keepalived
Replaces: keepalived
Section: admin
Priority: optional
Description: keepalived-compatible VRRP and LVS health-checking daemon
 keepalived-rs reads keepalived's configuration, takes its options and signals,
 runs its notify scripts and writes its files, and interoperates on the wire with
 keepalived (VRRP v2/v3). Virtual addresses, routes and rules move between routers;
 LVS/IPVS real servers are kept healthy with health checks.
CONTROL
echo /etc/default/keepalived-rs > "$root/DEBIAN/conffiles"

deb="$out/keepalived-rs_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
