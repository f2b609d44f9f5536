#!/bin/sh
# Runs one cargo-fuzz target for a while on a working corpus (see README.md).
#
# Usage (from anywhere):  fuzz/run.sh TARGET [SECONDS] [libFuzzer options...]
# Environment:            FUZZ_CARGO_ARGS   extra `cargo fuzz build` options (e.g. "--sanitizer none")
#                         FUZZ_TARGET_DIR   cargo's target dir for the fuzz build (default: fuzz/target)
#
# It builds TARGET with `cargo fuzz build` and runs the libFuzzer binary itself (not `cargo fuzz
# run`, which after a crash rebuilds the whole crate in another profile to print the input).
# libFuzzer reads its corpus directories recursively and stops at the first input that crashes,
# so the committed `corpus/TARGET/regressions/known-bug-*` inputs (bugs not fixed yet, which the
# replay tests expect to crash) must stay out of its way. The working corpus
# `corpus/TARGET/.work/` (ignored by git) gets the seeds (`corpus/TARGET/seed-*`, made by
# `VHD_WRITE_FUZZ_SEEDS=1 cargo test ...`, see README.md) and every other committed regression,
# and keeps what libFuzzer finds between runs. Crashes go to `artifacts/TARGET/`.
set -eu
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET [SECONDS] [libFuzzer options...]}
seconds=${2:-60}
shift
[ $# -gt 0 ] && shift
work="corpus/$target/.work"
mkdir -p "$work" "artifacts/$target"
for f in "corpus/$target"/seed-* "corpus/$target"/regressions/*; do
    [ -f "$f" ] || continue
    case "$(basename "$f")" in
        known-bug-*|*.md) continue ;;
    esac
    cp "$f" "$work/"
done
if [ "$target" = scenario_roundtrip ]; then
    # Seeds without a build: every scenario under specs/ as YAML text (mode 3), and random valid
    # (mode 1) and corrupt (mode 2) scenarios for seeds 0..7 (see src/scenario.rs).
    find ../specs -name '*.yaml' | while read -r y; do
        name=$(printf '%s' "${y#../specs/}" | tr '/' '_')
        { printf '\003'; cat "$y"; } >"$work/yaml-$name"
    done
    for mode in 1 2; do
        for seed in 0 1 2 3 4 5 6 7; do
            printf "\\$mode\\0\\0\\0\\0\\0\\0\\0\\$seed" >"$work/random-$mode-$seed"
        done
    done
fi
target_dir=${FUZZ_TARGET_DIR:-target}
# shellcheck disable=SC2086 # FUZZ_CARGO_ARGS is a list of options.
RUSTC_BOOTSTRAP=1 cargo fuzz build "$target" ${FUZZ_CARGO_ARGS:-} --target-dir "$target_dir"
triple=$(rustc -vV | sed -n 's/^host: //p')
exec "$target_dir/$triple/release/$target" "$work" -artifact_prefix="artifacts/$target/" \
    -dict=dictionaries/vhd.dict -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 "$@"
