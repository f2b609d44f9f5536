#!/usr/bin/env bash
# Gate a VHD reader on the vhd-conformance golden corpus (docs/ADOPTING.md).
#
# usage: conform-gate.sh [--corpus DIR|ARCHIVE] [--out DIR] [--check PATH]... CONFORM-ARGS...
#
#   --corpus DIR|ARCHIVE  the corpus: a directory with manifest.json, or the archive that
#                         `vhd-generate corpus --archive` writes (.tar, or compressed: GNU tar
#                         detects gzip, xz, zstd); default corpus/generated
#   --out DIR             where the reports go (default conform-reports): junit.xml,
#                         results.json, results.md, and check.sarif with --check
#   --check PATH          also validate PATH (images your implementation wrote, or a directory
#                         of them) into check.sarif for code scanning; repeatable
#   CONFORM-ARGS          passed to `vhd-validate conform`: --cmd TEMPLATE, --name NAME,
#                         --version-cmd COMMAND, --expect FILE, --unsupported TAGS, ...
#
# The vhd-validate binary is $VHD_VALIDATE (default: vhd-validate on PATH).
# Exit status: that of `vhd-validate conform` (0 conforms apart from the expect file's known
# failures, 1 fails, 2 could not run, e.g. the sanity pass failed), or 2 when `check` could not
# run. check's own findings never fail the gate: they go to code scanning.
set -euo pipefail

VHD_VALIDATE=${VHD_VALIDATE:-vhd-validate}
corpus=corpus/generated
out=conform-reports
check_paths=()
conform_args=()
while (($#)); do
    case $1 in
        --corpus) corpus=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --check) check_paths+=("$2"); shift 2 ;;
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
        *) conform_args+=("$1"); shift ;;
    esac
done
if ((${#conform_args[@]} == 0)); then
    echo "conform-gate.sh: give the implementation (--cmd TEMPLATE or --impl NAME); see --help" >&2
    exit 2
fi

mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -f $corpus ]]; then
    tar -xf "$corpus" -C "$work"
    dirs=("$work"/vhd-corpus-*/)
    if ((${#dirs[@]} != 1)) || [[ ! -f ${dirs[0]}manifest.json ]]; then
        echo "conform-gate.sh: $corpus is not a corpus archive (one vhd-corpus-*/ with manifest.json)" >&2
        exit 2
    fi
    corpus=${dirs[0]%/}
fi

status=0
"$VHD_VALIDATE" conform "$corpus" "${conform_args[@]}" \
    --junit "$out/junit.xml" --json "$out/results.json" --markdown "$out/results.md" || status=$?

if ((${#check_paths[@]})); then
    check_status=0
    "$VHD_VALIDATE" check --format sarif "${check_paths[@]}" >"$out/check.sarif" || check_status=$?
    if ((check_status > 1)); then
        echo "conform-gate.sh: vhd-validate check could not run (exit status $check_status)" >&2
        exit 2
    fi
fi
exit "$status"
