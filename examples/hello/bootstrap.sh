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
	"$here/make-sysroot.sh" "$tarball" $roots
	fresh=1
fi

# Each machine's packages make their own tarball, so its checksum is
# tracked here rather than kept in git.
if [ -n "${fresh:-}" ] || [ ! -f "$here/project.refs" ]; then
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
