#!/usr/bin/env bash
# ir.sh compares the instructions a benchmark executes per operation in the
# working tree and at a commit (HEAD by default), counted by valgrind's
# cachegrind. Wall-clock A/B runs (ab.sh) need a quiet machine to show a
# few percent; instruction counts do not drift with the load, so they can
# rank small changes on a busy one. They do not see cache misses or how
# many instructions run per cycle: confirm a change with ab.sh or bench/e2e.
#
#   bench/ir.sh ./pipeline 'DefaultPipeline/1worker'        # against HEAD
#   IR_N=2000 bench/ir.sh ./redact '^BenchmarkProcess$/^clean$' HEAD~3
#
# The count leaves out the Go runtime's scheduler and collector, whose
# share depends on timing, but keeps memmove, memclr and allocation. Each
# binary runs twice (N and 3N operations, N=$IR_N or 20); the difference
# divided by 2N cancels the benchmark's setup. An operation of less than
# about 10µs needs IR_N=2000 or so. Needs valgrind (apt-get install valgrind).
set -euo pipefail

if [ $# -lt 2 ]; then
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
pkg=$1 re=$2 base=${3:-HEAD}

. "$(dirname "$0")/testbins.sh"

# work BIN N: instructions outside the runtime's scheduler and collector
# in a run of N operations.
work() {
	(cd "$dir" && GOMAXPROCS=1 valgrind --tool=cachegrind --cache-sim=no \
		--cachegrind-out-file="$work/cg.out" "$1" -test.run '^$' -test.bench "$re" \
		-test.benchtime "${2}x" >/dev/null 2>&1)
	cg_annotate --threshold=0 "$work/cg.out" | sed -n '/file:function/,/^-- Auto/p' |
		grep -E '^ *[0-9,]+ \(' | awk '
		{ v = $1; gsub(",", "", v); fn = $NF }
		fn ~ /:runtime\./ && fn !~ /:runtime\.(mem(move|clr|eqbody)|mallocgc|growslice|nextFreeFast|rawbyteslice|slicebytetostring|makeslice)/ { next }
		{ sum += v }
		END { printf "%.0f\n", sum }'
}

n=${IR_N:-20}
per() { echo $((($(work "$1" $((3 * n))) - $(work "$1" "$n")) / (2 * n))); }
old=$(per "$work/old.test")
new=$(per "$work/new.test")
echo "instructions per operation of $re in $pkg"
echo "base $base ($(git -C "$root" rev-parse --short "$base")): $old"
echo "working tree: $new"
awk -v o="$old" -v n="$new" 'BEGIN { printf "change: %+.2f%%\n", (n - o) * 100 / o }'
