#!/usr/bin/env bash
# Whole-process performance comparisons of vhd-validate against qemu-img, sha2 and openssl
# (docs/PERFORMANCE.md). Every comparison runs side by side in one hyperfine invocation, so the
# ratios hold even when the machine is busy; absolute times do not.
#
# Usage: scripts/bench.sh [--quick] [--with-2t-digest] [--no-generator] [--scaling] [--fuzz | --fuzz-only]
#        [--baseline DIR]
#   --quick            fewer runs (a smoke test of the script, not numbers to publish)
#   --with-2t-digest   also time `digest` of the 2040 GiB mostly-empty disk and `vhd-generate`
#                      of an empty 2040 GiB dynamic scenario against SHA-256 of 2040 GiB of
#                      zeros (each about 2 TiB of SHA-256: 20 to 30 minutes on one core)
#   --no-generator     skip the vhd-generate floors (generation of empty 4, 16 and 64 GiB disks
#                      and dense 256 MiB ones against SHA-256 plus writing the same bytes) and
#                      the --jobs comparisons of the corpus commands and check DIR
#   --scaling          also time check/cat/digest/vhd-generate against virtual size (1 MiB to
#                      2040 GiB), allocated size, number of images (1 to 10,000) and chain
#                      depth (1 to 1024): target/bench-results/scaling.tsv
#   --fuzz             also measure the validate_image fuzz target's exec/s on small inputs
#                      (needs cargo-fuzz; two builds and 8 runs of FUZZ_SECONDS, default 30)
#   --fuzz-only        only that
#   --baseline DIR     also time DIR's release binaries (a checkout of an earlier commit, built
#                      with cargo build --release) on DIR's own corpus and specs against ours:
#                      check DIR, corpus verification, corpus generation and the conform no-op
#
# Environment: BENCH_DIR (default /dev/shm/vhd-bench: the `cat` floor is defined on tmpfs),
# RESULTS (default target/bench-results). Needs hyperfine, qemu-img, qemu-io, openssl,
# /usr/bin/time (GNU time) and python3; on Debian: apt-get install -y hyperfine qemu-utils time.
set -euo pipefail

START=$(pwd)
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BASELINE=""
QUICK=0
WITH_2T=0
GENERATOR=1
SCALING=0
FUZZ=0
FUZZ_ONLY=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --with-2t-digest) WITH_2T=1 ;;
    --no-generator) GENERATOR=0 ;;
    --scaling) SCALING=1 ;;
    --fuzz) FUZZ=1 ;;
    --fuzz-only) FUZZ_ONLY=1 ;;
    --baseline) BASELINE_NEXT=1 ;;
    *)
      if [ "${BASELINE_NEXT:-0}" = 1 ]; then
        BASELINE=$(cd "$START" && cd "$a" && pwd)
        BASELINE_NEXT=0
        continue
      fi
      echo "bench.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
[ "${BASELINE_NEXT:-0}" = 1 ] && { echo "bench.sh: --baseline needs a directory" >&2; exit 2; }

for tool in hyperfine qemu-img qemu-io openssl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool is missing" >&2; exit 2; }
done

BENCH_DIR=${BENCH_DIR:-/dev/shm/vhd-bench}
RESULTS=${RESULTS:-$ROOT/target/bench-results}
mkdir -p "$BENCH_DIR" "$RESULTS"
if [ "$QUICK" = 1 ]; then ROUNDS=1; RUNS=3; FAST_RUNS=10; else ROUNDS=4; RUNS=4; FAST_RUNS=30; fi

fuzz_speed() {
  # libFuzzer's own exec/s for validate_image on inputs of at most 4 KiB (-max_len=4096, the
  # default when a corpus is empty), with and without AddressSanitizer (the crates forbid unsafe
  # code; CI fuzzes with --sanitizer none), (a) from an empty corpus with the dictionary and
  # (b) from the inputs of at most 4 KiB of the local working corpus fuzz/corpus/validate_image/
  # (not committed: what earlier campaigns on this machine kept; evolved, finding-heavy inputs).
  echo "== fuzz: validate_image exec/s on inputs of at most 4 KiB"
  cd "$ROOT/fuzz"
  FUZZ_SECONDS=${FUZZ_SECONDS:-30}
  triple=$(rustc -vV | sed -n 's/^host: //p')
  work=$BENCH_DIR/fuzz
  echo "{" >"$RESULTS/fuzz.json"
  sep=""
  for san in address none; do
    RUSTC_BOOTSTRAP=1 cargo fuzz build validate_image --sanitizer "$san" --target-dir "target/bench-$san"
    bin=target/bench-$san/$triple/release/validate_image
    # From an empty corpus the rate depends on what libFuzzer happens to discover (an early
    # well-formed dynamic disk makes every later input heavier), so three fixed seeds.
    for corpus in empty:1 empty:2 empty:3 working:1; do
      rm -rf "$work" && mkdir -p "$work"
      if [ "${corpus%%:*}" = working ]; then
        find corpus/validate_image -type f -size -4097c ! -name 'known-bug-*' ! -name '*.md' -exec cp {} "$work/" \;
      fi
      rate=$("$bin" "$work" -seed="${corpus##*:}" -max_len=4096 -max_total_time="$FUZZ_SECONDS" \
        -dict=dictionaries/vhd.dict -print_final_stats=1 2>&1 |
        sed -n 's/^stat::average_exec_per_sec: *//p' | tail -n 1)
      echo "validate_image, sanitizer $san, corpus $corpus (name:seed): ${rate:-?} exec/s"
      echo "$sep\"$san $corpus\": ${rate:-null}" >>"$RESULTS/fuzz.json"
      sep=","
    done
  done
  echo "}" >>"$RESULTS/fuzz.json"
  rm -rf "$work"
}

if [ "$FUZZ_ONLY" = 1 ]; then fuzz_speed; exit 0; fi

echo "== building (release)"
cargo build --release -q -p vhd-cli --bin vhd-validate -p vhd-cli --bin vhd-generate
V=$ROOT/target/release/vhd-validate
G=$ROOT/target/release/vhd-generate
# The image builder and sha2 baseline (validator/benches/vhdbench.rs), located through cargo.
B=$(cargo bench -q -p vhd-validator --bench vhdbench --no-run --message-format=json 2>/dev/null |
  python3 -c 'import sys, json
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "vhdbench":
        print(m["executable"])')
[ -x "$B" ] || { echo "bench.sh: cannot build the vhdbench helper" >&2; exit 2; }

echo "== images in $BENCH_DIR"
cd "$BENCH_DIR"
if [ ! -f big.vhd ]; then
  # 2040 GiB, the largest VHD; 3 small writes (4 blocks of 2 MiB allocated; a 12 MiB file, 4 MiB
  # of it BAT).
  qemu-img create -q -f vpc -o subformat=dynamic big.vhd 2040G
  qemu-io -f vpc -c 'write -P 0xab 0 4M' -c 'write -P 0xcd 1T 2M' -c 'write -P 0xef 2000G 64k' big.vhd >/dev/null
fi
if [ ! -f full.vhd ]; then
  # 1 GiB of random bytes as a flat file, and the same bytes as a fully written dynamic disk.
  head -c 1G /dev/urandom >flat.raw
  qemu-img convert -f raw -O vpc -o subformat=dynamic,force_size=on flat.raw full.vhd
fi
if [ ! -f chain/level4.vhd ]; then
  # chain/base.vhd: 1 GiB fully written dynamic disk (our encoders); level1..4: differencing
  # children, each with 1024 scattered 4 KiB writes (qemu cannot write differencing disks).
  "$B" chain "$BENCH_DIR/chain" 1024 4 1024 >/dev/null
fi

HF=(hyperfine --style basic)
json() { echo "$RESULTS/$1.json"; }
# compare NAME ROUNDS HYPERFINE-ARGS...: hyperfine ROUNDS times (the machine's load drifts; every
# round times each command in turn), one JSON per round: NAME.1.json, NAME.2.json, ...
compare() {
  local name=$1 rounds=$2
  shift 2
  rm -f "$RESULTS/$name".*.json
  for ((r = 1; r <= rounds; r++)); do
    "${HF[@]}" --export-json "$RESULTS/$name.$r.json" "$@"
  done
}

echo "== check: 2040 GiB sparse dynamic disk vs qemu-img info"
compare check "$ROUNDS" -N --warmup 3 --runs "$FAST_RUNS" \
  -n "vhd-validate check" "$V check big.vhd" \
  -n "qemu-img info" "qemu-img info -f vpc big.vhd"

# References: cp of the flat file (copy_file_range: one in-kernel copy, no user buffer) and
# fallocate (only allocating the 1 GiB of tmpfs pages that any tool must fill).
echo "== cat: 1 GiB fully written dynamic disk to tmpfs vs qemu-img convert (and cp, fallocate)"
compare cat "$ROUNDS" --warmup 1 --runs "$RUNS" --prepare "rm -f $BENCH_DIR/out.raw" \
  -n "vhd-validate cat" "$V cat full.vhd -o $BENCH_DIR/out.raw" \
  -n "qemu-img convert" "qemu-img convert -f vpc -O raw full.vhd $BENCH_DIR/out.raw" \
  -n "cp flat file" "cp flat.raw $BENCH_DIR/out.raw" \
  -n "fallocate 1 GiB" "fallocate -l 1G $BENCH_DIR/out.raw"
rm -f out.raw
# The same on the disk file system (DISK_DIR, default target/bench-disk under the repository).
DISK_DIR=${DISK_DIR:-$ROOT/target/bench-disk}
mkdir -p "$DISK_DIR"
# Each run starts with no dirty pages of the previous one waiting for the disk (sync).
echo "== cat to $DISK_DIR vs cp and qemu-img convert to the same place"
compare cat-disk "$ROUNDS" --warmup 1 --runs "$RUNS" --prepare "rm -f $DISK_DIR/out.raw; sync" \
  -n "vhd-validate cat" "$V cat full.vhd -o $DISK_DIR/out.raw" \
  -n "qemu-img convert" "qemu-img convert -f vpc -O raw full.vhd $DISK_DIR/out.raw" \
  -n "cp flat file" "cp flat.raw $DISK_DIR/out.raw"
rm -f "$DISK_DIR/out.raw"

echo "== digest: 1 GiB dynamic disk vs SHA-256 of the same bytes as a flat file"
compare digest "$ROUNDS" -N --warmup 1 --runs "$RUNS" \
  -n "vhd-validate digest" "$V digest full.vhd" \
  -n "sha2 flat file" "$B sha256 flat.raw" \
  -n "openssl dgst" "openssl dgst -sha256 flat.raw"

echo "== digest: differencing chain of depth 4 vs its 1 GiB base alone"
compare chain "$ROUNDS" -N --warmup 1 --runs "$RUNS" \
  -n "digest chain depth 4" "$V digest chain/level4.vhd" \
  -n "digest base alone" "$V digest chain/base.vhd"

echo "== peak resident memory (GNU time, KiB)"
rss() { /usr/bin/time -f "%M" -o "$RESULTS/rss.tmp" "$@" >/dev/null 2>&1 || true; cat "$RESULTS/rss.tmp"; }
{
  echo "{"
  echo "\"check 2040 GiB sparse\": $(rss "$V" check big.vhd),"
  echo "\"check 1 GiB full\": $(rss "$V" check full.vhd),"
  echo "\"check chain depth 4\": $(rss "$V" check chain/level4.vhd),"
  echo "\"cat 2040 GiB sparse\": $(rm -f out.raw; rss "$V" cat big.vhd -o "$BENCH_DIR/out.raw"),"
  echo "\"cat 1 GiB full\": $(rm -f out.raw; rss "$V" cat full.vhd -o "$BENCH_DIR/out.raw"),"
  echo "\"cat chain depth 4\": $(rm -f out.raw; rss "$V" cat chain/level4.vhd -o "$BENCH_DIR/out.raw"),"
  echo "\"digest 1 GiB full\": $(rss "$V" digest full.vhd),"
  echo "\"digest chain depth 4\": $(rss "$V" digest chain/level4.vhd),"
  echo "\"qemu-img info 2040 GiB sparse\": $(rss qemu-img info -f vpc big.vhd),"
  echo "\"qemu-img convert 1 GiB full\": $(rm -f out.raw; rss qemu-img convert -f vpc -O raw full.vhd "$BENCH_DIR/out.raw")"
  echo "}"
} >"$(json rss)"
rm -f out.raw "$RESULTS/rss.tmp"
cat "$(json rss)"

if [ "$WITH_2T" = 1 ]; then
  echo "== digest of the 2040 GiB mostly-empty disk (SHA-256 over 2 TiB, mostly zeros)"
  /usr/bin/time -f '{"seconds": %e, "user": %U, "sys": %S, "max_rss_kib": %M}' -o "$(json digest2t)" \
    "$V" digest big.vhd
  cat "$(json digest2t)"
fi

if [ "$GENERATOR" = 1 ]; then
  echo "== vhd-generate floors: SHA-256 of the virtual disk plus writing the allocated bytes"
  cd "$ROOT"
  SC=$BENCH_DIR/scenarios
  mkdir -p "$SC"
  # scenario NAME TYPE SIZE [WRITES-YAML]: one image, nothing written unless WRITES-YAML.
  scenario() {
    printf 'description: bench %s\nimage:\n  type: %s\n  size: %s\n%s' "$1" "$2" "$3" "${4:-}" >"$SC/$1.yaml"
  }
  scenario fixed-empty-4g fixed "4 GiB"
  scenario fixed-empty-16g fixed "16 GiB"
  scenario dynamic-empty-64g dynamic "64 GiB"
  scenario dynamic-empty-2040g dynamic "2040 GiB"
  dense='  writes:\n    - {sector: 0, count: 524288, pattern: {random: ~}}\n'
  scenario fixed-full-256m fixed "256 MiB" "$(printf "$dense")"
  scenario dynamic-full-256m dynamic "256 MiB" "$(printf "$dense")"
  [ -f "$BENCH_DIR/flat256.raw" ] || head -c 256M /dev/urandom >"$BENCH_DIR/flat256.raw"
  gen() { echo "$G $SC/$1.yaml -o $BENCH_DIR/gen"; }
  floor_runs=$RUNS
  compare gen-fixed4g 1 --warmup 0 --runs "$floor_runs" --prepare "rm -rf $BENCH_DIR/gen" \
    -n "vhd-generate fixed 4 GiB empty" "$(gen fixed-empty-4g)" \
    -n "sha256 of 4 GiB" "$B sha256-zeros $((4 << 30))"
  compare gen-fixed16g 1 --warmup 0 --runs 1 --prepare "rm -rf $BENCH_DIR/gen" \
    -n "vhd-generate fixed 16 GiB empty" "$(gen fixed-empty-16g)" \
    -n "sha256 of 16 GiB" "$B sha256-zeros $((16 << 30))"
  compare gen-dyn64g 1 --warmup 0 --runs 1 --prepare "rm -rf $BENCH_DIR/gen" \
    -n "vhd-generate dynamic 64 GiB empty" "$(gen dynamic-empty-64g)" \
    -n "sha256 of 64 GiB" "$B sha256-zeros $((64 << 30))"
  # Dense: the floor writes the same amount of data (cp of a flat file) and hashes it.
  compare gen-dense 1 --warmup 1 --runs "$floor_runs" --prepare "rm -rf $BENCH_DIR/gen $BENCH_DIR/out.raw" \
    -n "vhd-generate fixed 256 MiB full" "$(gen fixed-full-256m)" \
    -n "vhd-generate dynamic 256 MiB full" "$(gen dynamic-full-256m)" \
    -n "sha256 + cp of 256 MiB" "sh -c '$B sha256 $BENCH_DIR/flat256.raw >/dev/null && cp $BENCH_DIR/flat256.raw $BENCH_DIR/out.raw'"
  if [ "$WITH_2T" = 1 ]; then
    rm -rf "$BENCH_DIR/gen"
    /usr/bin/time -f '{"seconds": %e, "user": %U, "sys": %S, "max_rss_kib": %M}' -o "$(json gen2t)" $(gen dynamic-empty-2040g)
    /usr/bin/time -f '{"seconds": %e, "user": %U, "sys": %S, "max_rss_kib": %M}' -o "$(json sha2t)" "$B" sha256-zeros $((2040 << 30))
  fi
  rm -rf "$BENCH_DIR/gen" "$BENCH_DIR/out.raw"

  echo "== both cores: the corpus commands with --jobs 1 and with one job per core"
  compare jobs-verify "$ROUNDS" --warmup 1 --runs 2 \
    -n "vhd-validate corpus -j 1" "$V corpus -j 1 corpus/generated" \
    -n "vhd-validate corpus" "$V corpus corpus/generated"
  compare jobs-generate 1 --warmup 0 --runs 2 --prepare "rm -rf $BENCH_DIR/gen" \
    -n "vhd-generate corpus -j 1" "$G corpus -j 1 --specs specs --out $BENCH_DIR/gen" \
    -n "vhd-generate corpus" "$G corpus --specs specs --out $BENCH_DIR/gen"
  compare jobs-check 1 --warmup 0 --runs 2 \
    -n "vhd-generate corpus --check -j 1" "$G corpus --check -j 1" \
    -n "vhd-generate corpus --check" "$G corpus --check"
  rm -rf "$BENCH_DIR/gen"
  # check DIR over 2,000 small images (16 MiB dynamic, 64 KiB written; the corpus itself is
  # checked in about 0.1 s).
  CD=$BENCH_DIR/checkdir
  if [ ! -f "$CD/1999.vhd" ]; then
    mkdir -p "$CD"
    qemu-img create -q -f vpc -o subformat=dynamic "$CD/0.vhd" 16M
    qemu-io -f vpc -c "write -P 0xab 0 64k" "$CD/0.vhd" >/dev/null
    for ((i = 1; i < 2000; i++)); do cp "$CD/0.vhd" "$CD/$i.vhd"; done
  fi
  compare jobs-checkdir "$ROUNDS" --warmup 1 --runs 3 \
    -n "vhd-validate check DIR -j 1" "$V check -j 1 $CD" \
    -n "vhd-validate check DIR" "$V check $CD"
  # The conformance runner's own overhead: a no-op reader that reads the sanity case and answers
  # "unsupported" (exit 77) for every other case, so that every case is staged, run and judged;
  # scratch in the system temporary directory (the default) and on tmpfs.
  NOOP=$BENCH_DIR/noop.sh
  printf '#!/bin/sh\ncase "$1" in *fixed-basic*) head -c 1048576 "$1"; exit 0;; esac\nexit 77\n' >"$NOOP"
  chmod +x "$NOOP"
  compare conform "$ROUNDS" -N --warmup 1 --runs 3 \
    -n "vhd-validate conform no-op -j 1" "$V conform -j 1 --cmd '$NOOP {image}' corpus/generated" \
    -n "vhd-validate conform no-op" "$V conform --cmd '$NOOP {image}' corpus/generated" \
    -n "vhd-validate conform no-op, scratch on tmpfs" "$V conform --scratch /dev/shm --cmd '$NOOP {image}' corpus/generated"
  # Against the single-core time the parallel floors were set on: BASELINE is a checkout of an
  # earlier commit with its release binaries built (cargo build --release), each run on its
  # own corpus and specs.
  if [ -n "$BASELINE" ]; then
    OV=$BASELINE/target/release/vhd-validate
    OG=$BASELINE/target/release/vhd-generate
    compare base-checkdir "$ROUNDS" -N --warmup 1 --runs 3 \
      -n "baseline check DIR" "$OV check $CD" \
      -n "vhd-validate check DIR" "$V check $CD"
    compare base-verify 1 -N --warmup 1 --runs 3 \
      -n "baseline corpus" "$OV corpus $BASELINE/corpus/generated" \
      -n "vhd-validate corpus" "$V corpus corpus/generated"
    compare base-generate 1 -N --warmup 0 --runs 3 --prepare "rm -rf $BENCH_DIR/gen $BENCH_DIR/gen-base" \
      -n "baseline vhd-generate corpus" "$OG corpus --specs $BASELINE/specs --out $BENCH_DIR/gen-base" \
      -n "vhd-generate corpus" "$G corpus --specs specs --out $BENCH_DIR/gen"
    # The baseline fails the no-op (it has no sanity pass and counts "unsupported" as a
    # failure): -i keeps its time.
    compare base-conform 1 -i -N --warmup 1 --runs 3 \
      -n "baseline conform no-op" "$OV conform --cmd '$NOOP {image}' $BASELINE/corpus/generated" \
      -n "vhd-validate conform no-op" "$V conform --cmd '$NOOP {image}' corpus/generated"
    rm -rf "$BENCH_DIR/gen" "$BENCH_DIR/gen-base"
  fi
fi

if [ "$SCALING" = 1 ]; then
  # One run per point (GNU time: wall, CPU, peak RSS); rows of target/bench-results/scaling.tsv.
  echo "== scaling: time and memory against virtual size, allocated size, images, chain depth"
  S=$BENCH_DIR/scale
  rm -rf "$S" && mkdir -p "$S"
  out=$RESULTS/scaling.tsv
  printf 'axis\tpoint\tcommand\twall_s\tcpu_s\trss_kib\n' >"$out"
  point() { # AXIS POINT NAME COMMAND...
    local axis=$1 pt=$2 name=$3
    shift 3
    rm -f "$S/out.raw"
    /usr/bin/time -f "%e %U %S %M" -o "$S/time" "$@" >/dev/null 2>&1 || true
    read -r e u sy m <"$S/time"
    printf '%s\t%s\t%s\t%s\t%.2f\t%s\n' "$axis" "$pt" "$name" "$e" "$(echo "$u + $sy" | bc)" "$m" | tee -a "$out"
  }
  # Virtual size: empty dynamic disks (qemu-img), 1 MiB to 2040 GiB. `check` and `cat` (holes)
  # touch the structures only; `digest` and `vhd-generate` hash every byte (SHA-256 cannot
  # skip zeros), so they are timed up to 64 GiB here (the 2040 GiB figures: --with-2t-digest).
  for sz in 1M 1G 64G 2040G; do
    qemu-img create -q -f vpc -o subformat=dynamic "$S/v$sz.vhd" "$sz"
    point virtual "$sz" check "$V" check "$S/v$sz.vhd"
    point virtual "$sz" cat "$V" cat "$S/v$sz.vhd" -o "$S/out.raw"
    if [ "$sz" != 2040G ]; then
      point virtual "$sz" digest "$V" digest "$S/v$sz.vhd"
      printf 'description: s\nimage:\n  type: dynamic\n  size: %s\n' "${sz%?} ${sz: -1}iB" >"$S/v$sz.yaml"
      rm -rf "$S/gen"
      point virtual "$sz" vhd-generate "$G" "$S/v$sz.yaml" -o "$S/gen"
    fi
  done
  # Allocated size: a 64 GiB dynamic disk with 1 MiB to 1 GiB written.
  for a in 1M 16M 256M 1G; do
    qemu-img create -q -f vpc -o subformat=dynamic "$S/a$a.vhd" 64G
    qemu-io -f vpc -c "write -P 0xab 0 $a" "$S/a$a.vhd" >/dev/null
    point allocated "$a" check "$V" check "$S/a$a.vhd"
    point allocated "$a" cat "$V" cat "$S/a$a.vhd" -o "$S/out.raw"
  done
  # Number of images: `check DIR` and `vhd-validate corpus`-like work over N small disks.
  qemu-img create -q -f vpc -o subformat=dynamic "$S/one.vhd" 16M
  qemu-io -f vpc -c "write -P 0xab 0 64k" "$S/one.vhd" >/dev/null
  for n in 1 10 100 1000 10000; do
    mkdir -p "$S/n$n"
    for ((i = 0; i < n; i++)); do cp "$S/one.vhd" "$S/n$n/$i.vhd"; done
    point images "$n" "check DIR" "$V" check "$S/n$n"
    rm -rf "$S/n$n"
  done
  # Chain depth: an 8 MiB dynamic base and D differencing levels with one 4 KiB write each (at
  # most 1023 levels: the chain of 1024 images, the longest read).
  for d in 1 16 256 1023; do
    top=$("$B" chain "$S/c$d" 8 "$d" 1)
    point depth "$d" check "$V" check --max-depth 1024 "$top"
    point depth "$d" digest "$V" digest --max-depth 1024 "$top"
    point depth "$d" cat "$V" cat --max-depth 1024 "$top" -o "$S/out.raw"
    rm -rf "$S/c$d"
  done
  rm -rf "$S"
fi

echo "== summary"
python3 - "$RESULTS" <<'EOF'
import json, os, sys
res = sys.argv[1]

CPU = {}

def load(name):
    """Merges the rounds NAME.1.json, NAME.2.json, ...: every run's wall time per command (and
    the mean user + system CPU time of each round into CPU)."""
    out, r = {}, 1
    while os.path.exists(p := os.path.join(res, f"{name}.{r}.json")):
        with open(p) as f:
            for x in json.load(f)["results"]:
                out.setdefault(x["command"], []).extend(x["times"])
                CPU.setdefault((name, x["command"]), []).append(x["user"] + x["system"])
        r += 1
    return out or None

def cpu(name, command):
    v = CPU.get((name, command), [])
    return sum(v) / len(v) if v else float("nan")

def med(times):
    t = sorted(times)
    n = len(t)
    return t[n // 2] if n % 2 else (t[n // 2 - 1] + t[n // 2]) / 2

rows = []
def ratio(file, ours, theirs, floor, better):
    d = load(file)
    if not d or ours not in d or theirs not in d:
        return
    a, b = med(d[ours]), med(d[theirs])
    ca, cb = cpu(file, ours), cpu(file, theirs)
    value = b / a if better == "speedup" else a / b
    cvalue = cb / ca if better == "speedup" else ca / cb
    rows.append((f"{ours} / {theirs}", f"{a * 1000:.1f} ms", f"{b * 1000:.1f} ms", better, f"{value:.2f}", f"{cvalue:.2f}", floor))

ratio("check", "vhd-validate check", "qemu-img info", ">= 1.00", "speedup")
ratio("cat", "vhd-validate cat", "qemu-img convert", ">= 1.00", "speedup")
ratio("cat", "vhd-validate cat", "cp flat file", ">= 0.91 (1.10x of cp)", "speedup")
ratio("cat", "vhd-validate cat", "fallocate 1 GiB", "(reference)", "speedup")
ratio("digest", "vhd-validate digest", "sha2 flat file", "<= 1.15", "time ratio")
ratio("digest", "vhd-validate digest", "openssl dgst", "<= 1.15", "time ratio")
chain = load("chain")
if chain:
    a, b = med(chain["digest chain depth 4"]), med(chain["digest base alone"])
    ca, cb = cpu("chain", "digest chain depth 4"), cpu("chain", "digest base alone")
    rows.append(("digest chain depth 4 / base alone", f"{a * 1000:.1f} ms", f"{b * 1000:.1f} ms", "throughput ratio", f"{b / a:.2f}", f"{cb / ca:.2f}", ">= 0.70"))

def floor(file, ours, theirs, limit):
    ratio(file, ours, theirs, limit, "time ratio")

ratio("cat-disk", "vhd-validate cat", "cp flat file", ">= 0.91 (1.10x of cp)", "speedup")
ratio("cat-disk", "vhd-validate cat", "qemu-img convert", ">= 1.00", "speedup")
floor("gen-fixed4g", "vhd-generate fixed 4 GiB empty", "sha256 of 4 GiB", "<= 1.25")
floor("gen-fixed16g", "vhd-generate fixed 16 GiB empty", "sha256 of 16 GiB", "<= 1.25")
floor("gen-dyn64g", "vhd-generate dynamic 64 GiB empty", "sha256 of 64 GiB", "<= 1.25")
floor("gen-dense", "vhd-generate fixed 256 MiB full", "sha256 + cp of 256 MiB", "<= 1.25")
floor("gen-dense", "vhd-generate dynamic 256 MiB full", "sha256 + cp of 256 MiB", "<= 1.25")
floor("jobs-verify", "vhd-validate corpus", "vhd-validate corpus -j 1", "<= 0.60")
floor("jobs-generate", "vhd-generate corpus", "vhd-generate corpus -j 1", "<= 0.60")
floor("jobs-check", "vhd-generate corpus --check", "vhd-generate corpus --check -j 1", "<= 0.60")
floor("jobs-checkdir", "vhd-validate check DIR", "vhd-validate check DIR -j 1", "<= 0.60")
floor("conform", "vhd-validate conform no-op", "vhd-validate conform no-op -j 1", "<= 0.60")
floor("base-checkdir", "vhd-validate check DIR", "baseline check DIR", "<= 0.60")
floor("base-verify", "vhd-validate corpus", "baseline corpus", "<= 0.60")
floor("base-generate", "vhd-generate corpus", "baseline vhd-generate corpus", "<= 0.60")
floor("base-conform", "vhd-validate conform no-op", "baseline conform no-op", "<= 0.60")
conform = load("conform")
if conform:
    for name in ("vhd-validate conform no-op", "vhd-validate conform no-op, scratch on tmpfs"):
        if name in conform:
            t = med(conform[name])
            rows.append((f"{name} (whole corpus)", f"{t * 1000:.1f} ms", "", "overhead", f"{t:.2f} s", f"{cpu('conform', name):.2f} s CPU", "<= 1 s"))
print("| comparison | ours (median wall) | theirs (median wall) | measure | wall | CPU (user+sys) | floor |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
for name in ("gen2t", "sha2t"):
    p = os.path.join(res, name + ".json")
    if os.path.exists(p):
        print(name, open(p).read().strip())
with open(os.path.join(res, "rss.json")) as f:
    rss = json.load(f)
print()
print("| peak RSS | MiB |")
print("|---|---|")
for k, v in rss.items():
    print(f"| {k} | {v / 1024:.1f} |")
EOF

if [ "$FUZZ" = 1 ]; then fuzz_speed; fi
