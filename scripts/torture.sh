#!/usr/bin/env bash
# Long torture runs (issue 13, points 2 and 3), outside `make test` (which runs small slices of
# the same binaries). Builds the release tree's torture targets, then runs:
#   server    kill -9 of the real tetherd under mixed load      SERVER_KILLS (default 120)
#   client    kill -9 of a libtether app mid-put / mid-sync     CLIENT_KILLS (default 150)
#   disk      a full tmpfs under tetherd and under the cache    (needs root: skipped otherwise)
#   io        injected I/O errors (failing SQLite VFS)          IO_ROUNDS (default 300)
#   convergence  8 devices through fault proxies, server paused and killed
#                                                               SEEDS (default 50) x OPS (default 150)
# Usage: scripts/torture.sh [server|client|disk|io|convergence]...   (no argument = all)
# Each run prints its seed; TETHER_TORTURE_SEED=<seed> replays one. Logs: build/torture-logs/.
set -uo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}

parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(server client disk io convergence)

[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null || exit 1
ninja -C build server/tetherd tests/torture/torture_server_kill_test tests/torture/torture_client_kill_test \
  tests/torture/torture_app tests/torture/torture_disk_full_test tests/torture/torture_io_error_test \
  tests/torture/torture_convergence_test >build/torture-build.log 2>&1 || { tail -40 build/torture-build.log; exit 1; }

logs=build/torture-logs
mkdir -p "$logs" build/tests/tmp
export TETHER_TEST_TMP=$PWD/build/tests/tmp
export TETHERD_BIN=$PWD/build/server/tetherd
export TETHER_TORTURE_APP=$PWD/build/tests/torture/torture_app
status=0

run() {  # name, env..., -- binary args...
  local name=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  echo "== torture $name" >&2
  local start=$SECONDS
  env "${envs[@]}" "$@" >"$logs/$name.log" 2>&1
  local rc=$?
  # The figures each test prints (kills, batches, seeds x ops, faults).
  grep -E '^(server kill|client kill|disk full|io errors|convergence)' "$logs/$name.log" | tail -4 >&2
  if [ $rc -ne 0 ]; then
    grep -E 'Failure|FAILED|Expected|Which is|Actual' "$logs/$name.log" | head -30 >&2
    echo "== torture $name: FAILED after $((SECONDS - start)) s (log: $logs/$name.log)" >&2
    status=1
  else
    echo "== torture $name: ok in $((SECONDS - start)) s" >&2
  fi
}

for p in "${parts[@]}"; do
  case $p in
    server) run server TETHER_TORTURE_SERVER_KILLS="${SERVER_KILLS:-120}" -- build/tests/torture/torture_server_kill_test ;;
    client) run client TETHER_TORTURE_CLIENT_KILLS="${CLIENT_KILLS:-150}" -- build/tests/torture/torture_client_kill_test ;;
    disk) run disk X=1 -- build/tests/torture/torture_disk_full_test ;;
    io) run io TETHER_TORTURE_IO_ROUNDS="${IO_ROUNDS:-300}" -- build/tests/torture/torture_io_error_test ;;
    convergence) run convergence TETHER_CONVERGENCE_SEEDS="${SEEDS:-50}" TETHER_CONVERGENCE_OPS="${OPS:-150}" \
                   -- build/tests/torture/torture_convergence_test --gtest_filter='*MoreSeedsFromEnvironment*' ;;
    *) echo "unknown part: $p (server|client|disk|io|convergence)" >&2; exit 2 ;;
  esac
done
[ $status -eq 0 ] && echo "torture: all passed" >&2 || echo "torture: FAILURES (logs in $logs/)" >&2
exit $status
