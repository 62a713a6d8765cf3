#!/usr/bin/env bash
# bench/public.sh — time `bst show --deps all` on a public BuildStream 2
# project checked out at PATH (the freedesktop SDK, gnome-build-meta, ...).
#
# Usage: bench/public.sh PATH [TARGET...]
#
# Without targets it shows every element of the project, and through its
# junctions everything they reach. The checkout is copied to a temporary directory first, and there the
# files the freedesktop SDK's Makefile generates before a build (boot keys,
# ostree-config.yml, secure-version.yml) are created as placeholders when
# missing, so the checkout given is never changed. Nothing is fetched.
#
# Environment:
#   RUNS=5     timed runs (the best wall time and the highest peak RSS are kept)
#   BST=       use this bst binary instead of building ./cmd/bst
#   KEEP=0     KEEP=1 keeps the temporary directory
#   BST_CONFIG= a user configuration to pass with -c: mirrors for the
#              junctions' git sources (see docs/plugins.md)
set -euo pipefail
export LC_NUMERIC=C

[ $# -ge 1 ] || { sed -n '2,18p' "$0" >&2; exit 2; }
src=$(cd "$1" && pwd)
shift
RUNS=${RUNS:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT

if [ -z "${BST:-}" ]; then
	(cd "$here" && go build -o "$tmp/bst" ./cmd/bst)
	BST=$tmp/bst
fi

cp -a "$src" "$tmp/project"
cd "$tmp/project"

# What the freedesktop SDK's Makefile makes before building.
if [ -d files/boot-keys ]; then
	for k in PK KEK DB VENDOR linux-module-cert; do
		[ -e "files/boot-keys/$k.key" ] || : >"files/boot-keys/$k.key"
		[ -e "files/boot-keys/$k.crt" ] || : >"files/boot-keys/$k.crt"
	done
	mkdir -p files/boot-keys/modules files/boot-keys/extra-kek files/boot-keys/extra-db
	[ -e files/boot-keys/modules/linux-module-cert.crt ] || : >files/boot-keys/modules/linux-module-cert.crt
fi
if grep -qs '^ostree-config.yml:' Makefile; then
	[ -e ostree-config.yml ] || printf 'ostree-remote-url: "http://localhost:8000/"\nostree-branch: "bench/x86_64/vm"\n' >ostree-config.yml
	mkdir -p files/vm/ostree-config
	[ -e files/vm/ostree-config/fdsdk.gpg ] || : >files/vm/ostree-config/fdsdk.gpg
fi
if grep -qs '^secure-version.yml:' Makefile; then
	[ -e secure-version.yml ] || echo 'sdk-version: "0.0"' >secure-version.yml
fi

# The element path, from project.conf (default: the project directory).
ep=$(sed -n 's/^element-path: *//p' project.conf | tr -d "'\"" | head -1)
ep=${ep:-.}

# Local sources naming files the checkout does not have (generated before
# a build, like gnome-build-meta's boot keys, or left out of a shallow
# mirror) get empty placeholders.
(cd "$ep" && grep -rhoE '^ *path: *files/[^ ]+' --include='*.bst' . | sed 's/^ *path: *//' | sort -u) |
	while read -r f; do
		[ -e "$f" ] || { mkdir -p "$(dirname "$f")"; : >"$f"; echo "placeholder: $f" >&2; }
	done

if [ $# -eq 0 ]; then
	(cd "$ep" && find . -name '*.bst' | sed 's|^\./||' | sort) >"$tmp/targets"
	echo "$(wc -l <"$tmp/targets") elements" >&2
else
	printf '%s\n' "$@" >"$tmp/targets"
fi
cfg=()
[ -n "${BST_CONFIG:-}" ] && cfg=(-c "$BST_CONFIG")

# One run to check it loads, then the timed runs.
"$BST" "${cfg[@]}" --no-colors show --deps all $(cat "$tmp/targets") >"$tmp/out"
n=$(wc -l <"$tmp/out")
nokey=$(grep -c '??????' "$tmp/out" || true)
best= peak=0
for _ in $(seq "$RUNS"); do
	/usr/bin/time -f '%e %M' -o "$tmp/time" "$BST" "${cfg[@]}" --no-colors show --deps all $(cat "$tmp/targets") >/dev/null
	read -r wall rss <"$tmp/time"
	if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; fi
	[ "$rss" -gt "$peak" ] && peak=$rss
done
echo "| project | elements shown | without a key | best wall (s) | peak RSS (MiB) |"
echo "|---|---|---|---|---|"
echo "| $(sed -n 's/^name: *//p' project.conf | head -1) | $n | $nokey | $best | $((peak / 1024)) |"
