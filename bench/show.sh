#!/usr/bin/env bash
# bench/show.sh — time `bst show --deps all all.bst` on synthetic projects.
#
# Usage: bench/show.sh [SIZE...]        (default sizes: 20000 100000)
#
# For each SIZE it generates a project with bench/genproject, runs our bst
# (built from this repository) RUNS times and keeps the best wall time and the
# highest peak RSS. Between those runs it runs bst RUNS times more with
# BST_BENCH_SKIP_KEYS=1, which skips hashing sources and computing keys: the
# baseline of what keys cost, measured in the same invocation. When
# BuildStream 1.6 is installed (/usr/bin/bst, Debian package `buildstream`),
# it also runs it once on the same graph written in 1.x syntax. The markdown
# table goes to stdout, progress to stderr.
#
# Next to the wall times the table gives the least CPU time (user + system,
# from GNU time) of the runs with and without keys: on a machine shared with
# other work the wall time measures the neighbours as much as bst, while the
# CPU time, though not immune, changes much less with the load.
#
# Environment:
#   RUNS=3               timed runs of our bst per size (best wall time wins)
#   LAYERS=20 FANIN=5 SEED=1   shape of the generated graph (see genproject -h)
#   SHOW_FORMAT=         passed as `-f` to both tools; empty = their default
#                        format (state, full cache key, name)
#   BST1=/usr/bin/bst    BuildStream 1.6 executable; BST1=none skips it
#   BST1_MAX=            skip BuildStream 1.6 for sizes above this
#   BST1_TIMEOUT=3600    seconds before a BuildStream 1.6 run is abandoned
#   KEEP=0               KEEP=1 keeps the temporary directory
#   BST=                 use this bst binary instead of building ./cmd/bst
set -euo pipefail
export LC_NUMERIC=C # EPOCHREALTIME and awk must agree on the decimal point

RUNS=${RUNS:-3}
LAYERS=${LAYERS:-20}
FANIN=${FANIN:-5}
SEED=${SEED:-1}
SHOW_FORMAT=${SHOW_FORMAT:-}
BST1=${BST1:-/usr/bin/bst}
BST1_MAX=${BST1_MAX:-}
BST1_TIMEOUT=${BST1_TIMEOUT:-3600}
KEEP=${KEEP:-0}
BST=${BST:-}
GNUTIME=/usr/bin/time

if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(20000 100000); fi
for s in "${sizes[@]}"; do
	case $s in '' | *[!0-9]*)
		echo "show.sh: size '$s' is not a number (usage: bench/show.sh [SIZE...])" >&2
		exit 2
		;;
	esac
done

log() { echo "show.sh: $*" >&2; }
die() {
	log "$*"
	exit 1
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# GNU time gives us wall time and peak RSS (%M, KiB) of the measured process.
if ! "$GNUTIME" --version 2>&1 | grep -q 'GNU'; then
	if [ "$(id -u)" = 0 ] && [ -n "${CI:-}" ] && command -v apt-get >/dev/null; then
		log "installing GNU time (Debian package 'time')"
		apt-get install -y time >&2 || { apt-get update >&2 && apt-get install -y time >&2; }
	else
		die "GNU time is needed at $GNUTIME for wall time and peak RSS; install it (Debian/Ubuntu: apt-get install time)"
	fi
fi
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
bench_setup bst-bench

# Both tools get fresh, private HOME and XDG directories: nothing is read from
# or written to the caller's caches and configuration.
mkdir -p "$tmp/home/cache" "$tmp/home/config" "$tmp/home/data"
run_env=(env HOME="$tmp/home" XDG_CACHE_HOME="$tmp/home/cache"
	XDG_CONFIG_HOME="$tmp/home/config" XDG_DATA_HOME="$tmp/home/data")

fmt_args=()
[ -n "$SHOW_FORMAT" ] && fmt_args=(-f "$SHOW_FORMAT")

have_bst1=0
if [ "$BST1" != none ] && [ -x "$BST1" ]; then
	bst1_version=$("${run_env[@]}" "$BST1" --version 2>/dev/null || true)
	case $bst1_version in
	1.*) have_bst1=1 ;;
	*) log "$BST1 is not BuildStream 1.x (version '$bst1_version'); skipping the comparison" ;;
	esac
elif [ "$BST1" != none ]; then
	log "BuildStream 1.6 not found at $BST1 (Debian: apt-get install buildstream); skipping the comparison"
fi

# timed DIR OUT ERR CMD...: runs CMD in DIR with stdin from /dev/null and
# prints "SECONDS KIB RC CPU". Wall time comes from bash's EPOCHREALTIME
# (microseconds; GNU time's %e only has centiseconds), peak RSS and CPU
# seconds (user + system) from GNU time.
timed() {
	local dir=$1 out=$2 err=$3 rc=0 t0 t1 line
	shift 3
	t0=$EPOCHREALTIME
	(cd "$dir" && "$GNUTIME" -o "$tmp/time.txt" -f '%e %M %U %S' "${run_env[@]}" "$@" \
		</dev/null >"$out" 2>"$err") || rc=$?
	t1=$EPOCHREALTIME
	# GNU time prefixes a "Command exited with non-zero status" line on failure.
	line=$(tail -n 1 "$tmp/time.txt")
	awk -v t0="$t0" -v t1="$t1" -v l="$line" -v rc="$rc" \
		'BEGIN { split(l, f, " "); printf "%.3f %d %d %.2f\n", (t0 != "" ? t1 - t0 : f[1]), f[2], rc, f[3] + f[4] }'
}

mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

rows=()
for n in "${sizes[@]}"; do
	want=$((n + 1)) # the generated elements plus all.bst
	p2=$tmp/p2-$n
	log "size $n: generating $p2"
	"$tmp/genproject" -n "$n" -layers "$LAYERS" -fanin "$FANIN" -seed "$SEED" -format 2 -o "$p2" >&2

	# Correctness check (and warm-up): every element must be listed once.
	r=$(timed "$p2" "$tmp/out" "$tmp/err" "$tmp/bst" show --deps all -f '%{name}' all.bst)
	set -- $r
	if [ "$3" != 0 ]; then
		tail -n 20 "$tmp/err" >&2
		die "size $n: 'bst show --deps all -f %{name} all.bst' exited $3"
	fi
	(cd "$p2/elements" && find . -name '*.bst' | sed 's|^\./||' | sort) >"$tmp/want"
	if ! sort "$tmp/out" | cmp -s - "$tmp/want"; then
		sort "$tmp/out" | diff - "$tmp/want" | head -n 10 >&2 || true
		die "size $n: 'bst show --deps all -f %{name} all.bst' listed $(wc -l <"$tmp/out") lines, want the $want element names once each"
	fi

	# Runs with and without keys alternate, so that both see the same
	# machine.
	best="" peak=0 bestnk="" cpu="" cpunk=""
	for i in $(seq "$RUNS"); do
		r=$(timed "$p2" "$tmp/out" "$tmp/err" "$tmp/bst" show --deps all "${fmt_args[@]}" all.bst)
		set -- $r
		if [ "$3" != 0 ]; then
			tail -n 20 "$tmp/err" >&2
			die "size $n: 'bst show --deps all ${fmt_args[*]} all.bst' exited $3"
		fi
		log "size $n: bst run $i: $1 s, $4 s CPU, $(mib "$2") MiB (load average $(cut -d' ' -f1 /proc/loadavg 2>/dev/null))"
		if [ -z "$best" ] || awk -v a="$1" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$1; fi
		if [ -z "$cpu" ] || awk -v a="$4" -v b="$cpu" 'BEGIN { exit !(a < b) }'; then cpu=$4; fi
		[ "$2" -gt "$peak" ] && peak=$2

		r=$(BST_BENCH_SKIP_KEYS=1 timed "$p2" "$tmp/out" "$tmp/err" "$tmp/bst" show --deps all "${fmt_args[@]}" all.bst)
		set -- $r
		if [ "$3" != 0 ]; then
			tail -n 20 "$tmp/err" >&2
			die "size $n: 'BST_BENCH_SKIP_KEYS=1 bst show --deps all ${fmt_args[*]} all.bst' exited $3"
		fi
		log "size $n: bst run $i without keys: $1 s, $4 s CPU, $(mib "$2") MiB"
		if [ -z "$bestnk" ] || awk -v a="$1" -v b="$bestnk" 'BEGIN { exit !(a < b) }'; then bestnk=$1; fi
		if [ -z "$cpunk" ] || awk -v a="$4" -v b="$cpunk" 'BEGIN { exit !(a < b) }'; then cpunk=$4; fi
	done
	overhead=$(awk -v a="$best" -v b="$bestnk" 'BEGIN { if (b > 0) printf "%.0f%%", (a / b - 1) * 100; else print "–" }')
	[ "$KEEP" = 1 ] || rm -rf "$p2"

	t1="–" m1="–" ratio="–"
	if [ "$have_bst1" = 1 ] && { [ -z "$BST1_MAX" ] || [ "$n" -le "$BST1_MAX" ]; }; then
		p1=$tmp/p1-$n
		"$tmp/genproject" -n "$n" -layers "$LAYERS" -fanin "$FANIN" -seed "$SEED" -format 1 -o "$p1" >&2
		log "size $n: running BuildStream $bst1_version once (timeout ${BST1_TIMEOUT}s)"
		r=$(timed "$p1" "$tmp/out1" "$tmp/err1" timeout "$BST1_TIMEOUT" "$BST1" --no-colors show --deps all "${fmt_args[@]}" all.bst)
		set -- $r
		if [ "$3" = 124 ]; then
			t1="> $BST1_TIMEOUT" m1="≥ $(mib "$2")"
			ratio=$(awk -v a="$BST1_TIMEOUT" -v b="$best" 'BEGIN { printf "> %.0f×", a / b }')
			log "size $n: BuildStream 1.6 timed out after ${BST1_TIMEOUT}s"
		elif [ "$3" != 0 ]; then
			tail -n 20 "$tmp/err1" >&2
			log "size $n: BuildStream 1.6 exited $3; leaving its columns empty"
		else
			if [ -z "$SHOW_FORMAT" ] && [ "$(wc -l <"$tmp/out1")" != "$want" ]; then
				log "size $n: warning: BuildStream 1.6 listed $(wc -l <"$tmp/out1") elements, want $want"
			fi
			t1=$1 m1=$(mib "$2")
			ratio=$(awk -v a="$1" -v b="$best" 'BEGIN { if (b > 0) printf "%.0f×", a / b; else print "–" }')
			log "size $n: BuildStream 1.6: $t1 s, $m1 MiB"
		fi
		[ "$KEEP" = 1 ] || rm -rf "$p1"
	fi
	rows+=("| $n | $best | $(mib "$peak") | $bestnk | $overhead | $cpu | $cpunk | $t1 | $m1 | $ratio |")
done

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "\`bst show --deps all${SHOW_FORMAT:+ -f '$SHOW_FORMAT'} all.bst\` on generated projects" \
	"($LAYERS layers, fan-in $FANIN, seed $SEED; \`bench/show.sh\`)." \
	"bst: best of $RUNS runs, with keys and without (BST_BENCH_SKIP_KEYS=1), alternating, wall and CPU (user + system) time each the least of its runs; BuildStream ${bst1_version:-1.6}: one run." \
	"Peak RSS from GNU time. Machine: ${cpu:-unknown CPU}, $(nproc) CPUs, $(go env GOVERSION), $(date -u +%Y-%m-%d);" \
	"load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)."
echo
echo "| Elements | bst (s) | bst peak RSS (MiB) | bst without keys (s) | Keys' overhead | bst CPU (s) | bst CPU without keys (s) | BuildStream 1.6 (s) | BuildStream 1.6 peak RSS (MiB) | Speed-up |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
