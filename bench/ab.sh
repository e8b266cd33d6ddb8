#!/usr/bin/env bash
# ab.sh compares benchmarks of the working tree with those of a commit
# (HEAD by default) in the same run: it builds both test binaries, runs
# them in turns COUNT times, and prints benchstat's comparison. Absolute
# times drift on shared machines; runs in turns drift together.
#
#   bench/ab.sh ./pipeline 'DefaultPipeline'          # 8 rounds against HEAD
#   bench/ab.sh ./redact 'Process$' 6 HEAD~2          # 6 rounds against HEAD~2
set -euo pipefail

if [ $# -lt 2 ]; then
	sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
pkg=$1 re=$2 count=${3:-8} base=${4:-HEAD}

. "$(dirname "$0")/testbins.sh"
for i in $(seq "$count"); do
	echo "round $i of $count" >&2
	(cd "$dir" && "$work/old.test" -test.run '^$' -test.bench "$re" -test.benchmem >>"$work/old.txt")
	(cd "$dir" && "$work/new.test" -test.run '^$' -test.bench "$re" -test.benchmem >>"$work/new.txt")
done
cd "$work"
mv old.txt base.txt
mv new.txt tree.txt
echo "base: $base ($(git -C "$root" rev-parse --short "$base")); tree: the working tree" >&2
go run golang.org/x/perf/cmd/benchstat@latest base.txt tree.txt
