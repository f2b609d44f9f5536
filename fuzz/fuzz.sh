#!/usr/bin/env bash
# The fuzzing workflow in one script (see fuzz/README.md). From anywhere:
#
#   fuzz/fuzz.sh build                     build every target as ClusterFuzzLite does (no
#                                          AddressSanitizer) into fuzz/cflite/out
#   fuzz/fuzz.sh seed [TARGET...]          write each target's seeds into fuzz/corpus/TARGET/
#                                          (the binaries write them; seconds, no test build)
#   fuzz/fuzz.sh run TARGET [SECONDS] [libFuzzer flags...]
#                                          fuzz TARGET (default 600 s) with the settings of
#                                          fuzz/options/TARGET.options (max_len, timeout,
#                                          dictionary) on the corpus fuzz/corpus/TARGET/; crashes,
#                                          timeouts and out-of-memory inputs go to
#                                          fuzz/artifacts/TARGET/
#   fuzz/fuzz.sh replay TARGET FILE...     run inputs through the target's body on stable
#   fuzz/fuzz.sh shrink FILE               shrink a scenario_roundtrip input by its scenario;
#                                          other targets: libFuzzer's -minimize_crash
#   fuzz/fuzz.sh coverage TARGET           line coverage of TARGET's corpus per source file
#                                          (needs `rustup component add llvm-tools-preview`)
#
# Environment: SANITIZER (build; default none), CARGO_TARGET_DIR (build; default
# ~/.cache/vhd-conformance/cflite-target), RUSTC_BOOTSTRAP=1 is set for the nightly-only steps.
set -euo pipefail
fuzz=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz")
export OUT="$fuzz/cflite/out"
# shellcheck source=fuzz/options.sh
. "$fuzz/options.sh"

targets() { sed -n '/^\[\[bin\]\]/,/^name/{s/^name = "\(.*\)"/\1/p}' "$fuzz/Cargo.toml"; }

need_build() {
    [ -x "$OUT/$1" ] || { echo "fuzz.sh: $1 not built; building" >&2; build; }
}

build() {
    CFLITE_DIR="$fuzz/cflite" CFLITE_RUN=0 "$root/.clusterfuzzlite/simulate.sh"
}

seed() {
    local t
    for t in "$@"; do
        need_build "$t"
        VHD_FUZZ_WRITE_SEEDS="$fuzz/corpus/$t" "$OUT/$t"
    done
}

cmd=${1:-}
shift || true
case "$cmd" in
build) build ;;
seed)
    if [ $# -eq 0 ]; then set -- $(targets); fi
    seed "$@"
    ;;
run)
    t=${1:?usage: fuzz.sh run TARGET [SECONDS] [libFuzzer flags...]}
    seconds=${2:-600}
    shift
    [ $# -gt 0 ] && shift
    need_build "$t"
    ls "$fuzz/corpus/$t"/seed-* >/dev/null 2>&1 || seed "$t"
    mkdir -p "$fuzz/artifacts/$t"
    mapfile -t flags < <(options_flags "$fuzz/options/$t.options")
    exec "$OUT/$t" "${flags[@]}" -artifact_prefix="$fuzz/artifacts/$t/" -max_total_time="$seconds" \
        -print_final_stats=1 "$@" "$fuzz/corpus/$t"
    ;;
replay)
    exec cargo run -q --release --manifest-path "$fuzz/harness/Cargo.toml" --example replay -- "$@"
    ;;
shrink)
    in=${1:?usage: fuzz.sh shrink FILE [TARGET]}
    t=${2:-scenario_roundtrip}
    if [ "$t" = scenario_roundtrip ]; then
        exec cargo run -q --release --manifest-path "$fuzz/harness/Cargo.toml" --example shrink -- "$in" "$in.shrunk"
    fi
    need_build "$t"
    mapfile -t flags < <(options_flags "$fuzz/options/$t.options")
    exec "$OUT/$t" "${flags[@]}" -minimize_crash=1 -runs=20000 -exact_artifact_path="$in.shrunk" "$in"
    ;;
coverage)
    t=${1:?usage: fuzz.sh coverage TARGET}
    ls "$fuzz/corpus/$t"/seed-* >/dev/null 2>&1 || seed "$t"
    cd "$fuzz"
    RUSTC_BOOTSTRAP=1 cargo fuzz coverage "$t" "corpus/$t" >/dev/null
    sysroot=$(rustc --print sysroot)
    host=$(rustc -vV | sed -n 's/^host: //p')
    llvm_cov="$sysroot/lib/rustlib/$host/bin/llvm-cov"
    "$llvm_cov" report "target/$host/coverage/$host/release/$t" -instr-profile="coverage/$t/coverage.profdata" \
        -ignore-filename-regex='/(\.cargo|rustc|\.rustup)/|fuzz/' | sed "s|$root/||"
    ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    [ -z "$cmd" ] || exit 2
    ;;
esac
