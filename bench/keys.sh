#!/usr/bin/env bash
# bench/keys.sh — time the cache keys alone, repeated within one process.
#
# Usage: bench/keys.sh [SIZE]           (default size: 100000)
#
# bench/show.sh measures the keys' overhead as the difference between two
# whole runs of `bst show`, which on a shared machine moves with the load
# by more than the keys themselves cost. This script instead loads the
# generated project once and has bst compute every key REPEAT times more
# (BST_BENCH_KEYS_REPEAT), on one processor and on all of them, and prints
# the least wall and CPU time of one computation: figures stable enough to
# compare two versions of element/cachekey.go, run one after the other.
#
# Environment:
#   REPEAT=8            computations per process, after the first
#   ROUNDS=2            processes per processor count (best figure wins)
#   LAYERS=20 FANIN=5 SEED=1   shape of the generated graph (see genproject -h)
#   BST=                use this bst binary instead of building ./cmd/bst
#   KEEP=0              KEEP=1 keeps the temporary directory
set -euo pipefail
export LC_NUMERIC=C

size=${1:-100000}
case $size in '' | *[!0-9]*)
	echo "keys.sh: size '$size' is not a number (usage: bench/keys.sh [SIZE])" >&2
	exit 2
	;;
esac
REPEAT=${REPEAT:-8}
ROUNDS=${ROUNDS:-2}
LAYERS=${LAYERS:-20}
FANIN=${FANIN:-5}
SEED=${SEED:-1}
BST=${BST:-}
KEEP=${KEEP:-0}

log() { echo "keys.sh: $*" >&2; }
die() {
	log "$*"
	exit 1
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
bench_setup bst-keys
bst=$tmp/bst
log "generating $size elements"
"$tmp/genproject" -n "$size" -layers "$LAYERS" -fanin "$FANIN" -seed "$SEED" -format 2 -o "$tmp/p" >&2
mkdir -p "$tmp/home/cache" "$tmp/home/config"

echo "Cache keys of $size generated elements ($LAYERS layers, fan-in $FANIN, seed $SEED; \`bench/keys.sh\`), the least"
echo "time of one computation of all of them, of $ROUNDS processes x $REPEAT repeats. $(date -u +%F), load average"
echo "before: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
# least prints the least wall and CPU times of the key timings in $1, as
# two table cells.
least() {
	awk '{ if (NR == 1 || $4 < w) w = $4; if (NR == 1 || $7 < c) c = $7 }
		END { if (NR == 0) printf "– | –"; else printf "%.3f | %.3f", w, c }' "$1"
}

echo "| Processors | Wall (s) | CPU (s) | First computation: wall (s) | First computation: CPU (s) |"
echo "|---:|---:|---:|---:|---:|"
for procs in 1 "$(nproc)"; do
	: >"$tmp/timings"
	: >"$tmp/first"
	for _ in $(seq "$ROUNDS"); do
		(cd "$tmp/p" && env HOME="$tmp/home" XDG_CACHE_HOME="$tmp/home/cache" XDG_CONFIG_HOME="$tmp/home/config" \
			GOMAXPROCS="$procs" BST_BENCH_KEYS_REPEAT="$REPEAT" "$bst" show --deps all -f '%{name}' all.bst \
			</dev/null >/dev/null 2>"$tmp/err") || die "bst show failed: $(tail -5 "$tmp/err")"
		# "keys: N elements, W s wall, C s CPU"
		grep '^keys: ' "$tmp/err" >>"$tmp/timings" ||
			die "bst printed no key timings (is it older than BST_BENCH_KEYS_REPEAT?)"
		# "first keys: N elements, W s wall, C s CPU": the computation
		# of a real run, sources' keys included (none from older bst).
		grep '^first keys: ' "$tmp/err" | cut -d' ' -f2- >>"$tmp/first" || true
	done
	# The least wall time and the least CPU time, each over all repeats,
	# then the same of the first computations.
	echo "| $procs | $(least "$tmp/timings") | $(least "$tmp/first") |"
	[ "$procs" = "$(nproc)" ] && break
done
echo
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
