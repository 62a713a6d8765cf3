# bench/lib.sh — set-up shared by bench/show.sh and bench/keys.sh. Source it
# once log and die are defined and root (the repository), KEEP and BST are
# set.

# bench_setup PREFIX: makes the temporary directory $tmp (removed at exit
# unless KEEP=1), puts the bst to measure at $tmp/bst (a link to BST when
# set, else built from ./cmd/bst) and builds the generator at
# $tmp/genproject.
bench_setup() {
	command -v go >/dev/null || die "go is not on PATH"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	if [ "$KEEP" = 1 ]; then
		trap 'log "kept $tmp"' EXIT
	else
		trap 'rm -rf "$tmp"' EXIT
	fi
	if [ -n "$BST" ]; then
		[ -x "$BST" ] || die "BST=$BST is not an executable"
		ln -s "$(cd "$(dirname "$BST")" && pwd)/$(basename "$BST")" "$tmp/bst"
	else
		log "building bst"
		(cd "$root" && go build -o "$tmp/bst" ./cmd/bst) ||
			die "could not build ./cmd/bst (go build -o \$tmp/bst ./cmd/bst in $root)"
	fi
	(cd "$root" && go build -o "$tmp/genproject" ./bench/genproject) ||
		die "could not build ./bench/genproject"
}
