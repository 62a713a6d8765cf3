#!/bin/sh
# Compiling on the Debian sysroot of examples/hello: the wall time of
# `bst build hello.bst` (the base cached, hello built cold) against the same
# make commands run directly in bubblewrap over the same sysroot, unpacked,
# in the same run. The ratio shows bst's fixed cost per build (loading,
# staging the sysroot, capturing the install root, committing the
# artifact) next to a small compile; it is not yet the autotools, cmake and
# meson comparison of issue 7, which needs those tools in the sysroot.
#
# Usage: bench/build/compile.sh [runs]   (after examples/hello/bootstrap.sh)
set -eu
runs=${1:-5}
repo=$(cd "$(dirname "$0")/../.." && pwd)
hello="$repo/examples/hello"
tarball="$hello/sysroot/debian-sysroot.tar.gz"
[ -f "$tarball" ] || { echo "run examples/hello/bootstrap.sh first" >&2; exit 1; }
command -v bwrap >/dev/null || { echo "needs bwrap (apt-get install bubblewrap)" >&2; exit 1; }
grep -q '^  ref:' "$hello/elements/base.bst" || { echo "base.bst has no ref: run examples/hello/bootstrap.sh" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bst-bench-compile.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/bst" ./cmd/bst)
tar -C "$work" -xzf "$tarball"
mkdir -p "$work/sysroot/build" "$work/sysroot/install"
export XDG_CACHE_HOME="$work/cache" XDG_CONFIG_HOME="$work/config"
"$work/bst" --no-interactive -C "$hello" source fetch base.bst hello.bst >/dev/null 2>&1
"$work/bst" --no-interactive -C "$hello" build base.bst >/dev/null 2>&1

now() { date +%s.%N; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
tb=0; tw=0
i=0
while [ $i -lt "$runs" ]; do
	i=$((i + 1))
	(cd "$hello" && "$work/bst" --no-interactive artifact delete hello.bst >/dev/null 2>&1) || true
	s=$(now)
	"$work/bst" --no-interactive -C "$hello" build hello.bst >/dev/null 2>&1
	e=$(now)
	tb=$(echo "$tb + $e - $s" | bc)

	rm -rf "$work/src" "$work/inst"
	cp -r "$hello/files/hello" "$work/src"
	mkdir "$work/inst"
	s=$(now)
	bwrap --unshare-all --ro-bind "$work/sysroot" / --dev /dev --proc /proc --tmpfs /tmp \
		--bind "$work/src" /build --bind "$work/inst" /install --chdir /build \
		--setenv PATH /usr/bin:/bin --setenv MAKEFLAGS -j2 \
		sh -c -e 'make PREFIX=/usr GREETING=hello && make -j1 PREFIX=/usr GREETING=hello DESTDIR=/install install' >/dev/null
	e=$(now)
	tw=$(echo "$tw + $e - $s" | bc)
done
echo "| hello (make, gcc) on the Debian sysroot | runs | bst build (mean) | bwrap (mean) | ratio |"
echo "|---|---:|---:|---:|---:|"
echo "$tb $tw $runs" | awk '{printf "| examples/hello | %d | %.2f s | %.2f s | %.2f× |\n", $3, $1/$3, $2/$3, $1/$2}'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
