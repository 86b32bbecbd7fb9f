#!/usr/bin/env bash
# `make tsan`: the thread checks of docs/reliability.md ("Threads").
#   1. Builds tetherd, libtether and their tests with clang, ThreadSanitizer and clang's
#      thread-safety analysis as errors (-Werror=thread-safety) in build-tsan/. A build error,
#      including an analysis warning, fails the run.
#   2. Runs the server and client suites there (TSAN_SUITES, default below). The tests spawn the
#      tsan build's own tetherd, tether CLI and C example (TETHERD_BIN & co. point into build-tsan).
#   3. Fails on any ThreadSanitizer report: every instrumented process (test binaries and the
#      tetherd they start) writes its reports to build-tsan/tsan-logs/tsan.<pid> and stops at the
#      first one (halt_on_error, exit code 66); the run counts the reports in those files, so a
#      report in a tetherd whose test passed anyway still fails it.
# Ends with one line "tsan: N passed, N failed, N skipped; R reports; build+test M min S s".
#
#   TSAN_SUITES="net sync"   meson suites to run (default: all server and client suites)
#   JOBS=2                   build jobs and parallel test processes (default: nproc)
# Logs: build-tsan/build.log, build-tsan/test.log, build-tsan/meson-logs/testlog.txt,
# build-tsan/tsan-logs/. Suppressions (third-party code only, each with its reason): tests/tsan.supp.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$ROOT")}
JOBS=${JOBS:-$(nproc)}
# Every suite of the server (unit + integration against the real tetherd) and of the client
# library; not torture/compat/fuzz/examples/bench (their own targets: make torture, make fuzz...).
SUITES=${TSAN_SUITES:-"schema net auth cognito events durability storage sync integration client client-integration client-auth-e2e client-device-follow"}
start=$SECONDS

# clang and its TSan runtime (libclang-rt-14-dev): the package set of `make fuzz`.
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    { scripts/install-deps.sh fuzz || exit 1; break; }
done

# -O1 -g1: TSan at -O0 runs the integration suites about twice as slowly, -O2 builds longer for
# no gain; line tables are enough for file:line in reports. Torture, compat and fuzz are not
# built (not run here). The release/ASan builds of make test stay gcc: -Wthread-safety is clang's.
opts=(-Doptimization=1 -Ddebug=false -Dcpp_args="-g1 -Wthread-safety -Werror=thread-safety"
      -Dc_args=-g1 -Db_sanitize=thread -Db_lundef=false -Dskip_test_dirs=torture,compat,fuzz)
if [ ! -f build-tsan/build.ninja ]; then
  CC=clang CXX=clang++ meson setup build-tsan "${opts[@]}" >build-tsan.setup.log 2>&1 ||
    { cat build-tsan.setup.log >&2; exit 1; }
else
  meson configure build-tsan "${opts[@]}" >build-tsan.setup.log 2>&1 ||
    { cat build-tsan.setup.log >&2; exit 1; }
fi
rm -f build-tsan.setup.log

echo "== tsan: building (clang, -fsanitize=thread, -Werror=thread-safety; build-tsan)" >&2
if ! ninja -C build-tsan -j "$JOBS" >build-tsan/build.log 2>&1; then
  grep -E 'error:|warning:' build-tsan/build.log | sort -u | head -40 >&2
  tail -5 build-tsan/build.log >&2
  echo "tsan: BUILD FAILED (log: build-tsan/build.log)"
  exit 1
fi
build_s=$((SECONDS - start))

logdir=$ROOT/build-tsan/tsan-logs
rm -rf "$logdir" && mkdir -p "$logdir"
# halt_on_error + exitcode: a report ends the process with 66 (a test failure, or a tetherd that
# dies under its test). second_deadlock_stack: both stacks of a lock-order inversion.
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:log_path=$logdir/tsan:suppressions=$ROOT/tests/tsan.supp:print_suppressions=0"

echo "== tsan: testing suites: $SUITES" >&2
suite_args=()
for s in $SUITES; do suite_args+=(--suite "$s"); done
# TSan slows the code 5-15x: give each test 3x its meson timeout.
meson test -C build-tsan --no-rebuild --num-processes "$JOBS" --timeout-multiplier 3 \
  --print-errorlogs "${suite_args[@]}" >build-tsan/test.log 2>&1
rc=$?
grep -E '^(Ok|Fail|Skipped|Timeout|Expected Fail|Unexpected Pass):' build-tsan/test.log | sed 's/^/   tsan /' >&2
[ $rc -ne 0 ] && grep -E ' (FAIL|TIMEOUT) ' build-tsan/test.log | head -20 >&2

reports=0
for f in "$logdir"/tsan.*; do
  [ -f "$f" ] || continue
  n=$(grep -c '^WARNING: ThreadSanitizer' "$f")
  [ "$n" -gt 0 ] || continue
  reports=$((reports + n))
  echo "== tsan: $n report(s) in $f:" >&2
  grep -E '^WARNING: ThreadSanitizer|^SUMMARY: ThreadSanitizer' "$f" | head -10 | sed 's/^/   /' >&2
done

python3 - "$rc" "$reports" "$build_s" "$((SECONDS - start))" build-tsan/meson-logs/testlog.junit.xml <<'PY'
import sys, os, xml.etree.ElementTree as ET
rc, reports, build_s, total_s, junit = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
passed = failed = skipped = 0
if os.path.exists(junit):
    for ts in ET.parse(junit).getroot().iter('testsuite'):
        t = int(ts.get('tests', 0)); f = int(ts.get('failures', 0)) + int(ts.get('errors', 0))
        s = int(ts.get('skipped', 0))
        passed += t - f - s; failed += f; skipped += s
if rc != 0 and failed == 0:
    failed = 1   # a test binary that died (e.g. exit 66 before gtest wrote its XML) counts
print(f"tsan: {passed} passed, {failed} failed, {skipped} skipped; {reports} reports; "
      f"build {build_s // 60} min {build_s % 60} s, build+test {total_s // 60} min {total_s % 60} s")
sys.exit(1 if failed or reports or rc else 0)
PY
