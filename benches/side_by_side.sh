#!/usr/bin/env bash
# Provisioning throughput of this checkout against an earlier commit, side by side in one run:
#   benches/side_by_side.sh f4c97aa [COUNT] [ROUNDS]
# Builds both in release (the earlier one in a temporary worktree with its own target folder),
# then runs `cardmint --sandbox issue --count COUNT --value 5 --rate 10000 --concurrency 32`
# ROUNDS times each, alternating, each in a fresh folder, and prints every time and the means.
# The rate is far above the default (10/s): this measures cardmint, not the throttle.
set -euo pipefail
base="${1:?give the commit to compare with}"
count="${2:-2000}"
rounds="${3:-5}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'git -C "$here" worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$here" worktree add -q "$work/old" "$base"
(cd "$work/old" && CARGO_TARGET_DIR="$work/old-target" cargo build -q --release --bin cardmint)
(cd "$here" && cargo build -q --release --bin cardmint)
declare -A bin=([old]="$work/old-target/release/cardmint" [new]="$here/target/release/cardmint")
declare -A total=([old]=0 [new]=0)
for round in $(seq "$rounds"); do
  for who in old new; do
    dir="$(mktemp -d -p "$work")"
    start=$(date +%s.%N)
    (cd "$dir" && "${bin[$who]}" --sandbox issue --count "$count" --value 5 --rate 10000 \
      --concurrency 32 -q >/dev/null)
    took=$(echo "$(date +%s.%N) - $start" | bc)
    total[$who]=$(echo "${total[$who]} + $took" | bc)
    printf '%s (%s) round %d: %.2f s\n' "$who" "$([ "$who" = old ] && echo "$base" || echo HEAD)" "$round" "$took"
    rm -rf "$dir"
  done
done
printf 'mean: %s %.2f s, HEAD %.2f s, ratio %.2f\n' "$base" \
  "$(echo "${total[old]} / $rounds" | bc -l)" "$(echo "${total[new]} / $rounds" | bc -l)" \
  "$(echo "${total[new]} / ${total[old]}" | bc -l)"
