#!/bin/sh
# Makes corpus/seed/: the QEMU-made images with the exact commands below, then the encoder-made
# ones (chain and deliberately corrupt images) from validator/testkit/src/seed.rs.
#
# Usage: scripts/make-seed-corpus.sh            (from the workspace root)
#        scripts/make-seed-corpus.sh --qemu-only
#
# QEMU stamps each image with the current time and a random unique id, so rerunning this
# changes the QEMU-made files' bytes (not their verdicts); the encoder-made files are
# byte-for-byte reproducible and a test checks that the committed ones are current.
# Tools: qemu-img and qemu-io (QEMU 10.0.2 made the committed files), cargo.
set -eu

cd "$(dirname "$0")/.."
out=corpus/seed
mkdir -p "$out"

# Fixed disk, CHS-rounded size (creator "qemu": 1 MiB asked, 31/4/17 = 1079296 bytes stored),
# with three written patterns, the last ending at the last byte of the disk.
rm -f "$out/qemu-fixed-1m.vhd"
qemu-img create -q -f vpc -o subformat=fixed "$out/qemu-fixed-1m.vhd" 1M
qemu-io -f vpc -c 'write -P 0xab 0 64k' -c 'write -P 0x5c 512k 4k' -c 'write -P 0xe7 1075200 4096' \
    "$out/qemu-fixed-1m.vhd" >/dev/null

# Fixed disk with force_size (creator "qem2": exactly 1 MiB, geometry 65535/16/255).
rm -f "$out/qemu-fixed-force-size-1m.vhd"
qemu-img create -q -f vpc -o subformat=fixed,force_size=on "$out/qemu-fixed-force-size-1m.vhd" 1M
qemu-io -f vpc -c 'write -P 0x3c 4k 8k' -c 'write -P 0xc3 1044480 4096' \
    "$out/qemu-fixed-force-size-1m.vhd" >/dev/null

# Dynamic disk, 16 MiB asked, no block written (a written 2 MiB block would make it > 2 MiB).
rm -f "$out/qemu-dynamic-empty-16m.vhd"
qemu-img create -q -f vpc -o subformat=dynamic "$out/qemu-dynamic-empty-16m.vhd" 16M

if [ "${1:-}" = "--qemu-only" ]; then
    exit 0
fi

# Encoder-made files (see validator/testkit/src/seed.rs and corpus/seed/README.md).
VHD_REGEN_SEED=1 cargo test -q -p vhd-cli --test real_images seed_corpus_encoder_files_are_current
