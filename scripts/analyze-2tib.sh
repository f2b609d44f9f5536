#!/usr/bin/env bash
# Measures `vhd-validate analyze` on a 2040 GiB differencing chain with --new-parent and --map
# (wall time, CPU time, peak RSS; docs/ANALYZE.md records the figures). The images are sparse
# files of about 50 MB on disk, written to a temporary directory and removed afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release -q -p vhd-cli --bin vhd-validate
cargo build --release -q -p vhd-generator --example write_chain
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/big.yaml" <<'YAML'
description: 2040 GiB GPT template with scattered data; a child writes clusters; an update.
seed: 11
image:
  type: differencing
  size: 2040 GiB
  writes:
  - {sector: 2056, count: 8, pattern: {fill: 9}, repeat: {count: 200, stride: 20000000}}
  - {sector: 4000000000, count: 4096, pattern: {counter: 3}}
  parent:
    type: dynamic
    size: 2040 GiB
    writes:
    - {sector: 0, count: 34, pattern: {partition-table: {scheme: gpt}}}
    - {sector: 2048, count: 64, pattern: {counter: 1}, repeat: {count: 400, stride: 10000000}}
update:
  writes:
  - {sector: 2048, count: 32, pattern: {fill: 5}, repeat: {count: 300, stride: 10000000}}
YAML
target/release/examples/write_chain "$work/big.yaml" "$work/out"
cd "$work/out"
status=0
/usr/bin/time -v "$root/target/release/vhd-validate" analyze disk.vhd --new-parent new-parent.vhd \
  --map "$work/map.svg" > "$work/report.txt" 2> "$work/time.txt" || status=$?
[ "$status" -eq 1 ] || { echo "expected exit 1 (conflicts), got $status" >&2; cat "$work/time.txt" >&2; exit 1; }
grep -E "update:|Elapsed|User time|System time|Maximum resident" "$work/report.txt" "$work/time.txt" | sed 's/^[^:]*://'
echo "map: $(wc -c < "$work/map.svg") bytes"
