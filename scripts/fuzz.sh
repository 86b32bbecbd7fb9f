#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of tests/fuzz (clang, ASan+UBSan, build dir
# build-fuzz) and runs each for a given time or number of runs, then prints executions, exec/s,
# corpus size and coverage per target. See docs/reliability.md.
#
#   FUZZ_SECONDS=60        time per target (default 60), or
#   FUZZ_RUNS=N            executions per target (instead of a time limit)
#   FUZZ_TARGETS="a b"     which targets (default: all of tests/fuzz/*_fuzz.cpp)
#   FUZZ_PARALLEL=1        targets run at the same time (one process each; 2 fits 2 cores)
#   FUZZ_CORPUS_DIR=DIR    where new inputs are kept, one subdirectory per target (default
#                          build-fuzz/fuzz-corpus); the committed corpora - seeds
#                          (tests/fuzz/corpus/) and what earlier campaigns kept
#                          (tests/fuzz/campaign-corpus/) - are read, never written, unless
#                          FUZZ_MERGE=1
#   FUZZ_MERGE=1           afterwards, rebuild tests/fuzz/campaign-corpus/<target>/ as the
#                          minimized union (libFuzzer -merge=1) of itself and the new inputs, so
#                          the next session's campaigns continue from it
#   FUZZ_LEDGER=FILE       where each run is recorded (default tests/fuzz/campaigns.tsv, the
#                          committed ledger: executions add up across sessions); empty: nowhere
#   FUZZ_ARGS="..."        extra libFuzzer flags (e.g. -max_len=4096); a target's own flags are
#                          in tests/fuzz/<target>.options (lines not starting with #)
#   FUZZ_BUILD=0           run the targets as built (no ninja: e.g. while build-fuzz is building)
#   scripts/fuzz.sh --totals   prints the ledger's executions per target and exits
# A crash, leak or UB report stops that target; its input is saved under
# build-fuzz/fuzz-artifacts/<target>/ and the run exits non-zero. Keep it as a reproducer in
# tests/fuzz/crashes/<target>/ (make test replays those) and fix the bug.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LEDGER=${FUZZ_LEDGER-$ROOT/tests/fuzz/campaigns.tsv}

if [ "${1:-}" = --totals ]; then
  printf "%-16s %12s %5s %s\n" target executions runs "failed runs"
  awk -F'\t' '!/^#/ && $3 ~ /^[0-9]+$/ { n[$2] += $3; runs[$2]++; if ($7 != "ok") bad[$2]++ }
    END { for (t in n) printf "%-16s %12d %5d %d\n", t, n[t], runs[t], bad[t] }' \
    "$ROOT/tests/fuzz/campaigns.tsv" | sort
  exit 0
fi
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$ROOT")}

SECONDS_PER=${FUZZ_SECONDS:-60}
RUNS=${FUZZ_RUNS:-}
PARALLEL=${FUZZ_PARALLEL:-1}
CORPUS_ROOT=${FUZZ_CORPUS_DIR:-$ROOT/build-fuzz/fuzz-corpus}
TARGETS=${FUZZ_TARGETS:-$(cd tests/fuzz && ls *_fuzz.cpp | sed 's/_fuzz\.cpp$//' | tr '\n' ' ')}

if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ meson setup build-fuzz --buildtype=release -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false >build-fuzz.setup.log 2>&1 ||
    { cat build-fuzz.setup.log >&2; exit 1; }
  rm -f build-fuzz.setup.log
fi
ninja_targets=""
for t in $TARGETS; do ninja_targets="$ninja_targets tests/fuzz/${t}_fuzz"; done
echo "== fuzz: building ($ninja_targets )" >&2
if [ "${FUZZ_BUILD:-1}" = 1 ] && ! ninja -C build-fuzz -j "$(nproc)" $ninja_targets >build-fuzz/build.log 2>&1; then
  tail -40 build-fuzz/build.log >&2
  exit 1
fi

mkdir -p build-fuzz/fuzz-logs
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}

run_one() {  # target
  local t=$1
  local corpus=$CORPUS_ROOT/$t artifacts=$ROOT/build-fuzz/fuzz-artifacts/$t/ log=$ROOT/build-fuzz/fuzz-logs/$t.log
  mkdir -p "$corpus" "$artifacts"
  local limit="-max_total_time=$SECONDS_PER"
  [ -n "$RUNS" ] && limit="-runs=$RUNS"
  local dict="" opts=""
  [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
  [ -f "tests/fuzz/$t.options" ] && opts=$(grep -v '^#' "tests/fuzz/$t.options" | tr '\n' ' ')
  local campaign=$ROOT/tests/fuzz/campaign-corpus/$t
  local dirs=("$corpus")
  [ -d "$campaign" ] && dirs+=("$campaign")
  dirs+=("tests/fuzz/corpus/$t")
  echo "== fuzz: $t ($limit)" >&2
  ./build-fuzz/tests/fuzz/${t}_fuzz $limit -print_final_stats=1 -artifact_prefix="$artifacts" \
    $dict $opts ${FUZZ_ARGS:-} "${dirs[@]}" >"$log" 2>&1
  echo $? >"$log.rc"
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    # A fresh directory that gets the inputs of the old campaign corpus and the new ones which
    # add coverage (libFuzzer keeps the smallest input per feature), then replaces the old one.
    local merged=$ROOT/build-fuzz/fuzz-merge/$t
    rm -rf "$merged" && mkdir -p "$merged"
    local old=()
    [ -d "$campaign" ] && old=("$campaign")
    if ./build-fuzz/tests/fuzz/${t}_fuzz -merge=1 $dict ${FUZZ_ARGS:-} "$merged" "${old[@]}" "$corpus" \
        >"$log.merge" 2>&1; then
      rm -rf "$campaign" && mkdir -p "$(dirname "$campaign")" && cp -r "$merged" "$campaign"
    else
      echo "merge failed for $t: see $log.merge" >&2
    fi
  fi
}
export -f run_one
export SECONDS_PER RUNS CORPUS_ROOT ROOT
printf '%s\n' $TARGETS | xargs -P "$PARALLEL" -I{} bash -c 'run_one {}'

# Summary from libFuzzer's final stats and its last status line ("#N ... cov: E ft: F corp: C").
status=0
printf '%-16s %12s %9s %8s %7s %s\n' target executions exec/s corpus cov result
for t in $TARGETS; do
  log=build-fuzz/fuzz-logs/$t.log
  rc=$(cat "$log.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //')
  corp=$(ls "$CORPUS_ROOT/$t" | wc -l)
  [ "${FUZZ_MERGE:-0}" = 1 ] && corp=$(ls "$ROOT/tests/fuzz/campaign-corpus/$t" 2>/dev/null | wc -l)
  result=ok
  if [ "$rc" != 0 ]; then
    result="FAILED (rc $rc): $(grep -m1 -E 'ERROR: |runtime error|fuzz check failed|^fuzz: ' "$log" | cut -c1-120); log $log"
    status=1
  fi
  printf '%-16s %12s %9s %8s %7s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$corp" "${cov:-?}" "$result"
  line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$(date -u +%FT%TZ)" "$t" "${execs:-}" "${rate:-}" "$corp" "${cov:-}" "${result%%; log *}")
  echo "$line" >>build-fuzz/fuzz-summary.tsv
  [ -n "$LEDGER" ] && echo "$line" >>"$LEDGER"
done
exit $status
