#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ into $OUT, each self-contained (ClusterFuzzLite and
# OSS-Fuzz run them away from the source tree): the binary (seed images and scenarios embedded by
# fuzz/harness/build.rs), <target>_seed_corpus.zip, <target>.options (libFuzzer max_len, timeout, dict)
# and the dictionary vhd.dict.
#
# Environment (set by the base-builder-rust image, or by .clusterfuzzlite/simulate.sh):
#   SRC, OUT, WORK   source, output and scratch directories
#   SANITIZER        address (ClusterFuzzLite's only Rust sanitizer), coverage, or none (the
#                    simulation; the code is safe Rust, so CI fuzzes without AddressSanitizer)
#   RUSTFLAGS        the base image's flags, passed through to cargo
#   CARGO_TARGET_DIR optional: where cargo builds (default fuzz/target)
set -euo pipefail
project="$SRC/vhd-conformance"
cd "$project/fuzz"

build_args=(-O --debug-assertions)
if [ "${SANITIZER:-address}" = none ]; then
    build_args+=(--sanitizer none)
fi
cargo fuzz build "${build_args[@]}"

bin_dir="${CARGO_TARGET_DIR:-$PWD/target}/x86_64-unknown-linux-gnu/release"
cp dictionaries/vhd.dict "$OUT/vhd.dict"
for target in $(cargo fuzz list); do
    cp "$bin_dir/$target" "$OUT/$target"
    cp "options/$target.options" "$OUT/$target.options"
    # Seeds: what the binary itself writes (VHD_FUZZ_WRITE_SEEDS, from its embedded files), and
    # the committed regressions except known bugs (they crash on purpose).
    seeds="$WORK/seeds/$target"
    rm -rf "$seeds"
    mkdir -p "$seeds"
    VHD_FUZZ_WRITE_SEEDS="$seeds" "$OUT/$target"
    for f in "corpus/$target"/regressions/*; do
        [ -f "$f" ] || continue
        case "$(basename "$f")" in known-bug-* | *.md) continue ;; esac
        cp "$f" "$seeds/regression-$(basename "$f")"
    done
    rm -f "$OUT/${target}_seed_corpus.zip"
    (cd "$seeds" && zip -q -X -r "$OUT/${target}_seed_corpus.zip" .)
done
