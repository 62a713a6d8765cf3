#!/bin/sh
# Builds examples/hello end to end:
#
#   1. downloads, with the machine's own apt sources, the Debian packages of
#      a minimal toolchain and packs them, unpacked, into
#      sysroot/debian-sysroot.tar.gz;
#   2. tracks base.bst (bst writes the tarball's sha256 into base.bst),
#      fetches it (bst verifies that checksum) and builds hello.bst, a C
#      program compiled from source in the sandbox on that sysroot;
#   3. checks the result out into checkout/ and runs it.
#
# Usage: examples/hello/bootstrap.sh [path-to-bst]   (default: builds ./cmd/bst)
# Set BST_HELLO_REFRESH=1 to remake the sysroot tarball.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

# The packages of the sysroot, with everything they depend on.
roots="libc6 libc6-dev gcc make dash coreutils sed grep"
# Tools bst and this script need on the host.
need_host() {
	missing=""
	for tool in apt-get apt-cache dpkg-deb tar gzip; do
		command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
	done
	echo "$missing"
}

missing=$(need_host)
if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "== installing the host tools:$missing"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apt dpkg tar gzip >/dev/null
	else
		echo "bootstrap.sh needs a Debian-like machine with:$missing" >&2
		echo "(as root: apt-get install apt dpkg tar gzip)" >&2
		exit 1
	fi
fi

if [ $# -gt 0 ]; then
	bst_bin=$1
else
	echo "== go build ./cmd/bst"
	bst_bin="$here/.bst"
	(cd "$repo" && go build -o "$bst_bin" ./cmd/bst)
fi
run_bst() { "$bst_bin" -C "$here" "$@"; }

tarball="$here/sysroot/debian-sysroot.tar.gz"
if [ ! -f "$tarball" ] || [ "${BST_HELLO_REFRESH:-}" = 1 ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/bst-hello-sysroot.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$work/debs" "$work/sysroot"

	# The closure of the roots' dependencies (pre-dependencies included),
	# as apt resolves them from the configured sources; virtual packages
	# (<...>) are provided by real ones in the list. dpkg and its helpers
	# are what installs packages, not part of a toolchain.
	pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances $roots 2>/dev/null |
		grep -v '^ ' | grep -v '^<' | sort -u |
		grep -v -x -e dpkg -e install-info -e debconf -e perl-base -e debianutils)
	if [ -z "$pkgs" ]; then
		echo "apt-cache knows none of: $roots (is the package list up to date? as root: apt-get update)" >&2
		exit 1
	fi
	echo "== downloading $(echo "$pkgs" | wc -l) Debian packages with apt-get download"
	(cd "$work/debs" && apt-get download -q $pkgs >/dev/null 2>"$work/apt.log") || {
		cat "$work/apt.log" >&2
		echo "apt-get download failed; as root, apt-get update may help" >&2
		exit 1
	}
	echo "== unpacking them into a sysroot"
	for deb in "$work"/debs/*.deb; do
		dpkg-deb -x "$deb" "$work/sysroot"
	done
	# What dpkg's maintainer scripts and alternatives would have made.
	root="$work/sysroot"
	[ -e "$root/bin/sh" ] || ln -s dash "$root/bin/sh"
	[ -e "$root/usr/bin/cc" ] || ln -s gcc "$root/usr/bin/cc"
	mkdir -p "$root/tmp" "$root/dev" "$root/proc" "$root/etc"
	chmod 1777 "$root/tmp"
	# Leave out what a build never reads.
	rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info" \
		"$root/usr/share/locale" "$root/usr/share/lintian"
	echo "== packing $tarball"
	mkdir -p "$here/sysroot"
	# A reproducible tarball: sorted names, fixed times and owners.
	tar -C "$work" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
		-cf - sysroot | gzip -n -1 >"$tarball.tmp"
	mv "$tarball.tmp" "$tarball"
	fresh=1
fi

# Each machine's packages make their own tarball, so its checksum is
# tracked here rather than kept in git.
if [ -n "${fresh:-}" ] || ! grep -q '^  ref:' "$here/elements/base.bst"; then
	echo "== bst source track base.bst"
	run_bst source track base.bst
fi
echo "== bst source fetch"
run_bst source fetch --deps all all.bst
echo "== bst build all.bst"
run_bst build all.bst
echo "== bst artifact checkout"
rm -rf "$here/checkout"
(cd "$here" && "$bst_bin" artifact checkout hello.bst --directory checkout)
echo "== checkout/usr/bin/hello"
"$here/checkout/usr/bin/hello"
