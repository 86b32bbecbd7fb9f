#!/usr/bin/env bash
# Builds Tether twice (release, and AddressSanitizer + UndefinedBehaviorSanitizer), runs every
# test suite in both, and ends with one line "N passed, N failed, N skipped" totalled over all
# suites of both builds. Exits non-zero if anything failed or did not build.
# Logs: build/meson-logs/testlog.txt and build-asan/meson-logs/testlog.txt.
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc)}
status=0

configure() {  # dir, meson options...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log" >&2; return 1; }
  else
    # An existing directory follows the options below too (a no-op when they already match).
    meson configure "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log" >&2; return 1; }
  fi
  rm -f "$dir.setup.log"
}

run_build() {  # dir, label, extra meson test options...
  local dir=$1 label=$2
  shift 2
  echo "== $label: building ($dir)" >&2
  if ! ninja -C "$dir" -j "$JOBS" >"$dir/build.log" 2>&1; then
    tail -40 "$dir/build.log" >&2
    echo "== $label: BUILD FAILED (log: $dir/build.log)" >&2
    return 1
  fi
  echo "== $label: testing" >&2
  meson test -C "$dir" --num-processes "$JOBS" --print-errorlogs "$@" >"$dir/test.log" 2>&1
  local rc=$?
  grep -E '^(Ok|Fail|Skipped|Timeout|Expected Fail|Unexpected Pass):' "$dir/test.log" | sed "s/^/   $label /" >&2
  if [ $rc -ne 0 ]; then
    grep -E ' (FAIL|TIMEOUT) ' "$dir/test.log" | head -20 >&2
    echo "== $label: some tests failed (log: $dir/meson-logs/testlog.txt)" >&2
  fi
  return $rc
}

configure build --buildtype=release || status=1
# The sanitizer build is -O0 with line tables only (-g1). Compiling dominates this stage, not
# testing: on the 2-core machine the whole sanitizer build took ~13 min at -O1 -g1 (and more at
# -O2 -g) but 6 min at -O0 -g1, while its test run stays about 2 min either way. That keeps the
# whole run well under 20 minutes. ASan reports still carry file:line; the optimized release
# build above runs the same suites.
# It does not build the benchmarks (-Dbench=false): their smoke run is a timing check that the
# release stage runs.
configure build-asan -Doptimization=0 -Ddebug=false -Dcpp_args=-g1 -Dc_args=-g1 \
  -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false || status=1

[ $status -eq 0 ] && { run_build build release || status=1; }
# The sanitizer build runs every suite except those whose code paths it already covers elsewhere:
# compat-cluster (the compat suites again, on three nodes: the same server code, 3x the time under
# ASan), bench (the benchmark smoke run, a timing check; not built there) and release-only (torture-cache-kill's
# simulated power cuts: 7 s in release, over 300 s at -O0 under ASan). All run in the release build.
[ -f build-asan/build.ninja ] && { run_build build-asan asan --no-suite compat-cluster --no-suite bench \
  --no-suite release-only || status=1; }

# Total per-test-case counts from meson's JUnit logs (gtest suites report every case).
python3 - "$status" build/meson-logs/testlog.junit.xml build-asan/meson-logs/testlog.junit.xml <<'PY'
import sys, os, xml.etree.ElementTree as ET
status = int(sys.argv[1])
passed = failed = skipped = 0
for path in sys.argv[2:]:
    if not os.path.exists(path):
        continue
    root = ET.parse(path).getroot()
    for ts in root.iter('testsuite'):
        t = int(ts.get('tests', 0)); f = int(ts.get('failures', 0)) + int(ts.get('errors', 0))
        s = int(ts.get('skipped', 0))
        passed += t - f - s; failed += f; skipped += s
if status != 0 and failed == 0:
    failed = 1   # a build or setup failure counts as a failure
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or status else 0)
PY
