#!/usr/bin/env bash
# Old against new: runs two `bench` binaries alternately on the same `bench train` arguments, N pairs, and prints
# each side's tokens/s and the median of the pairs' ratios (new / old). Pairs in the same minutes are what make a
# comparison meaningful on a VM whose speed drifts (BENCHMARKS.md, "Training").
#
#   scripts/alternate_train_bench.sh 8 /tmp/bench-old .build/release/bench --preset tiny --batch-size 12 --vocab 65 --steps 30
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 PAIRS OLD_BENCH NEW_BENCH [bench train arguments...]" >&2
    exit 2
fi
pairs=$1; old=$2; new=$3; shift 3
tokens_per_s() { "$1" train "${@:2}" --rounds 1 --no-reference | awk '/^  swiftlet/ {print $2}'; }
for _ in $(seq "$pairs"); do
    a=$(tokens_per_s "$old" "$@")
    b=$(tokens_per_s "$new" "$@")
    echo "$a $b"
done | python3 -c '
import statistics, sys
pairs = [tuple(map(float, line.split())) for line in sys.stdin if line.strip()]
print("old tokens/s:", ", ".join(f"{a:.0f}" for a, _ in pairs))
print("new tokens/s:", ", ".join(f"{b:.0f}" for _, b in pairs))
print(f"median old {statistics.median(a for a, _ in pairs):.0f}, median new {statistics.median(b for _, b in pairs):.0f}, "
      f"median ratio new/old {statistics.median(b / a for a, b in pairs):.3f} over {len(pairs)} pairs")
'
