#!/bin/sh
# make-sysroot.sh OUT.tar.gz PACKAGE...: packs the Debian packages named,
# with everything they depend on, unpacked into one tarball with a single
# top directory, sysroot/. The packages come from the machine's own apt
# sources (apt-get download); nothing is installed on the host.
set -eu
[ $# -ge 2 ] || { echo "usage: make-sysroot.sh OUT.tar.gz PACKAGE..." >&2; exit 1; }
tarball=$1
shift
roots="$*"
case $tarball in /*) ;; *) tarball="$(pwd)/$tarball" ;; esac

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
	grep -v -x -e dpkg -e install-info -e debconf -e debianutils)
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
[ -e "$root/usr/bin/awk" ] || [ ! -e "$root/usr/bin/mawk" ] || ln -s mawk "$root/usr/bin/awk"
for tool in aclocal automake; do
	[ ! -e "$root/usr/bin/$tool" ] || continue
	for versioned in "$root/usr/bin/$tool"-[0-9]*; do
		[ -e "$versioned" ] && ln -s "$(basename "$versioned")" "$root/usr/bin/$tool"
		break
	done
done
mkdir -p "$root/tmp" "$root/dev" "$root/proc" "$root/etc"
chmod 1777 "$root/tmp"
# Leave out what a build never reads.
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info" \
	"$root/usr/share/locale" "$root/usr/share/lintian"
echo "== packing $tarball"
mkdir -p "$(dirname "$tarball")"
# A reproducible tarball: sorted names, fixed times and owners.
tar -C "$work" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	-cf - sysroot | gzip -n -1 >"$tarball.tmp"
mv "$tarball.tmp" "$tarball"
