#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh as ClusterFuzzLite would, without a container engine, then every
# installed target on its seed corpus: the build CI can check on a machine with no Docker.
#
# Usage: .clusterfuzzlite/simulate.sh [SECONDS]
#   Builds into $CFLITE_DIR (default fuzz/cflite, ignored by git): src/vhd-conformance (a link to
#   this checkout, where the Dockerfile copies it), out/ ($OUT), work/ ($WORK), artifacts/<target>/.
#   Then, for each target installed in out/: checks that it is self-contained (binary, .options,
#   seed zip, dictionary), unzips its seed corpus into a fresh directory and runs it from the work
#   directory with the flags of its .options file, first over the seeds once
#   (-runs=0: each seed executed), then for SECONDS seconds of fuzzing (default 0: none).
#   Crashes, timeouts and out-of-memory inputs land in artifacts/<target>/ and fail the run.
# Environment: SANITIZER (default none; address needs a nightly-capable toolchain with ASan),
#   CARGO_TARGET_DIR (default ~/.cache/vhd-conformance/cflite-target, kept between runs),
#   CFLITE_BUILD=0 to reuse out/ from an earlier run, CFLITE_RUN=0 to build only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-0}
sim=${CFLITE_DIR:-$root/fuzz/cflite}
mkdir -p "$sim"
sim=$(cd "$sim" && pwd)

# The base-builder-rust image's environment.
export SRC="$sim/src" OUT="$sim/out" WORK="$sim/work"
export FUZZING_ENGINE=libfuzzer FUZZING_LANGUAGE=rust ARCHITECTURE=x86_64
export SANITIZER=${SANITIZER:-none}
# The image compiles C and C++ (libFuzzer, in libfuzzer-sys) with clang; GCC stands in when there is
# no clang, without clang's -gline-tables-only.
if command -v clang++ >/dev/null; then
    export CC=clang CXX=clang++ CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
else
    export CFLAGS="-O1 -fno-omit-frame-pointer -g1 -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
fi
export CXXFLAGS="$CFLAGS"
export RUSTFLAGS="--cfg fuzzing -Cdebuginfo=1 -Cforce-frame-pointers"
# The image has nightly Rust; a stable toolchain takes cargo-fuzz's nightly flags with this.
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/vhd-conformance/cflite-target}

if [ "${CFLITE_BUILD:-1}" != 0 ]; then
    rm -rf "$OUT" "$WORK" "$SRC"
    mkdir -p "$OUT" "$WORK" "$SRC"
    ln -s "$root" "$SRC/vhd-conformance"
    bash "$root/.clusterfuzzlite/build.sh"
fi

[ "${CFLITE_RUN:-1}" != 0 ] || exit 0

# shellcheck source=fuzz/options.sh
. "$root/fuzz/options.sh"

rm -rf "$sim/artifacts"
status=0
targets=$(cd "$OUT" && for f in *.options; do echo "${f%.options}"; done)
[ -n "$targets" ] || { echo "simulate: no target installed in $OUT" >&2; exit 1; }
for t in $targets; do
    for f in "$OUT/$t" "$OUT/${t}_seed_corpus.zip" "$OUT/vhd.dict"; do
        [ -s "$f" ] || { echo "simulate: $t: $f missing" >&2; exit 1; }
    done
    run="$WORK/run-$t"
    rm -rf "$run"
    mkdir -p "$run/corpus" "$sim/artifacts/$t"
    unzip -q "$OUT/${t}_seed_corpus.zip" -d "$run/corpus"
    mapfile -t flags < <(options_flags "$OUT/$t.options")
    # Run from the work directory, as the runner does: every path given is absolute.
    common=("${flags[@]}" -artifact_prefix="$sim/artifacts/$t/" -print_final_stats=1)
    echo "simulate: $t: $(ls "$run/corpus" | wc -l) seeds, ${flags[*]}"
    (cd "$run" && "$OUT/$t" "${common[@]}" -runs=0 "$run/corpus") >"$sim/artifacts/$t.seeds.log" 2>&1 || {
        status=1
        echo "simulate: $t failed on its seeds" >&2
        tail -n 30 "$sim/artifacts/$t.seeds.log" >&2
    }
    if [ "$seconds" -gt 0 ]; then
        (cd "$run" && "$OUT/$t" "${common[@]}" -max_total_time="$seconds" "$run/corpus") >"$sim/artifacts/$t.log" 2>&1 || {
            status=1
            echo "simulate: $t failed while fuzzing" >&2
            tail -n 30 "$sim/artifacts/$t.log" >&2
        }
        grep -E '^#[0-9]+: .*exec/s|^stat::number_of_executed_units' "$sim/artifacts/$t.log" | tail -n 2 || true
    fi
done
left=$(find "$sim/artifacts" -mindepth 2 -type f | head -n 20)
if [ -n "$left" ]; then
    echo "simulate: inputs that crashed, timed out or ran out of memory:" >&2
    echo "$left" >&2
    status=1
fi
exit "$status"
