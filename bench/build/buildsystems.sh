#!/bin/sh
# Building an autotools, a cmake and a meson project on a Debian sysroot:
# the wall time of `bst build` of each (the sysroot cached, the element
# cold) against the same commands run directly in bubblewrap over the same
# sysroot, unpacked, in the same run. Issue 7's target: within 10%.
#
# The sysroot is examples/hello's toolchain plus autoconf, automake,
# libtool, pkgconf, cmake, meson and ninja (and mawk, diffutils and
# findutils, which configure scripts use), made by
# examples/hello/make-sysroot.sh from the machine's apt sources. Each
# project is a generated C library and program of -n source files.
#
# The first bst build after the sysroot's stages the build root (the
# sysroot's 12,000 files, hardlinked) into the cache's staged roots; the
# later ones reuse it, as builds on a developer's machine do.
#
# BST_BENCH_BASELINE=/path/to/bst also times another bst binary (an older
# build, say) in the same interleaved runs, on the same cache.
#
# Usage: bench/build/buildsystems.sh [runs] [files]   (defaults: 3, 60)
set -eu
runs=${1:-3}
nfiles=${2:-60}
repo=$(cd "$(dirname "$0")/../.." && pwd)
command -v bwrap >/dev/null || { echo "needs bwrap (apt-get install bubblewrap)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bst-bench-buildsystems.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/bst" ./cmd/bst)
bst() { "$work/bst" --no-interactive "$@"; }
proj="$work/proj"
mkdir -p "$proj/elements" "$proj/sysroot"
tarball="${BST_BENCH_SYSROOT:-$repo/bench/build/sysroot/buildsystems.tar.gz}"
if [ ! -f "$tarball" ]; then
	"$repo/examples/hello/make-sysroot.sh" "$tarball" libc6 libc6-dev gcc make dash coreutils sed grep \
		mawk diffutils findutils autoconf automake libtool pkgconf cmake meson ninja-build
fi
ln -s "$tarball" "$proj/sysroot/sysroot.tar.gz"

# The sources: a library of $nfiles functions and a program calling them.
gen() {
	d=$1
	mkdir -p "$d/src"
	i=0
	: >"$d/src/lib.h"
	while [ $i -lt "$nfiles" ]; do
		printf 'int f%d(int x)\n{\n\tint s = 0;\n\tfor (int i = 0; i < x; i++)\n\t\ts += (i * %d) ^ (s >> 3);\n\treturn s;\n}\n' $i $i >"$d/src/f$i.c"
		echo "int f$i(int x);" >>"$d/src/lib.h"
		i=$((i + 1))
	done
	{
		echo '#include <stdio.h>'
		echo '#include "lib.h"'
		echo 'int main(void) { int s = 0;'
		i=0
		while [ $i -lt "$nfiles" ]; do echo "s += f$i(100);"; i=$((i + 1)); done
		printf '%s\n' 'printf("%d\n", s); return 0; }'
	} >"$d/src/main.c"
}
srcs() { i=0; while [ $i -lt "$nfiles" ]; do printf '%s ' "$1f$i.c"; i=$((i + 1)); done; }

gen "$proj/at"
cat >"$proj/at/configure.ac" <<EOT
AC_INIT([benchat], [1.0])
AM_INIT_AUTOMAKE([foreign subdir-objects])
AC_PROG_CC
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
EOT
cat >"$proj/at/Makefile.am" <<EOT
bin_PROGRAMS = benchat
benchat_SOURCES = src/main.c $(srcs src/)
EOT

gen "$proj/cm"
cat >"$proj/cm/CMakeLists.txt" <<EOT
cmake_minimum_required(VERSION 3.13)
project(benchcm LANGUAGES C)
add_executable(benchcm src/main.c $(srcs src/))
install(TARGETS benchcm)
EOT

gen "$proj/ms"
cat >"$proj/ms/meson.build" <<EOT
project('benchms', 'c')
executable('benchms', 'src/main.c', $(srcs src/ | sed "s/\([^ ]*\) /'\1', /g") install: true)
EOT

cat >"$proj/project.conf" <<'EOT'
name: bench
min-version: 2.0
element-path: elements
aliases:
  sysroot: "%{project-root-uri}/sysroot/"
variables:
  strip-binaries: ""
EOT
cat >"$proj/elements/base.bst" <<'EOT'
kind: import
sources:
- kind: tar
  url: sysroot:sysroot.tar.gz
EOT
for k in at:autotools cm:cmake ms:meson; do
	cat >"$proj/elements/${k%%:*}.bst" <<EOT
kind: ${k#*:}
build-depends:
- base.bst
variables:
  prefix: /usr
sources:
- kind: local
  path: ${k%%:*}
EOT
done

export XDG_CACHE_HOME="$work/cache" XDG_CONFIG_HOME="$work/config"
bst -C "$proj" source track base.bst >/dev/null 2>&1
bst -C "$proj" source fetch base.bst at.bst cm.bst ms.bst >/dev/null 2>&1
bst -C "$proj" build base.bst >/dev/null 2>&1
tar -C "$work" -xzf "$tarball"
mkdir -p "$work/sysroot/build" "$work/sysroot/install"


now() { date +%s.%N; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
base=${BST_BENCH_BASELINE:-}
if [ -n "$base" ]; then
	echo "| project on the Debian sysroot | runs | bst build (mean) | baseline bst (mean) | bwrap (mean) | ratio | baseline ratio |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
else
	echo "| project on the Debian sysroot | runs | bst build (mean) | bwrap (mean) | ratio |"
	echo "|---|---:|---:|---:|---:|"
fi
for k in at cm ms; do
	case $k in
	at) script='autoreconf -ivf && ./configure --prefix=/usr && make && make -j1 DESTDIR=/install install' ;;
	cm) script='cmake -B_builddir -H. -GNinja -DCMAKE_VERBOSE_MAKEFILE=ON -DCMAKE_INSTALL_PREFIX:PATH=/usr && cmake --build _builddir -- -j2 && env DESTDIR=/install cmake --build _builddir --target install' ;;
	ms) script='meson setup . _builddir --prefix=/usr && ninja -v -j 2 -C _builddir && env DESTDIR=/install meson install -C _builddir --no-rebuild' ;;
	esac
	tb=0; tw=0; t0=0; i=0
	while [ $i -lt "$runs" ]; do
		i=$((i + 1))
		if [ -n "$base" ]; then
			(cd "$proj" && "$base" --no-interactive artifact delete $k.bst >/dev/null 2>&1) || true
			s=$(now)
			"$base" --no-interactive -C "$proj" --max-jobs 2 build $k.bst >"$work/$k.base.log" 2>&1 || { tail -20 "$work/$k.base.log"; exit 1; }
			e=$(now)
			t0=$(echo "$t0 + $e - $s" | bc)
		fi
		(cd "$proj" && "$work/bst" --no-interactive artifact delete $k.bst >/dev/null 2>&1) || true
		s=$(now)
		bst -C "$proj" --max-jobs 2 build $k.bst >"$work/$k.bst.log" 2>&1 || { tail -20 "$work/$k.bst.log"; exit 1; }
		e=$(now)
		tb=$(echo "$tb + $e - $s" | bc)
		rm -rf "$work/src" "$work/inst"
		cp -r "$proj/$k" "$work/src"
		mkdir "$work/inst"
		s=$(now)
		bwrap --unshare-all --ro-bind "$work/sysroot" / --dev /dev --proc /proc --tmpfs /tmp \
			--bind "$work/src" /build --bind "$work/inst" /install --chdir /build \
			--setenv PATH /usr/bin:/bin --setenv MAKEFLAGS -j2 --setenv HOME /tmp \
			sh -c -e "$script" >"$work/$k.bwrap.log" 2>&1 || { tail -20 "$work/$k.bwrap.log"; exit 1; }
		e=$(now)
		tw=$(echo "$tw + $e - $s" | bc)
	done
	if [ -n "$base" ]; then
		echo "$tb $tw $runs $k $t0" | awk '{printf "| %s | %d | %.2f s | %.2f s | %.2f s | %.2f× | %.2f× |\n", $4, $3, $1/$3, $5/$3, $2/$3, $1/$2, $5/$2}'
	else
		echo "$tb $tw $runs $k" | awk '{printf "| %s | %d | %.2f s | %.2f s | %.2f× |\n", $4, $3, $1/$3, $2/$3, $1/$2}'
	fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
