#!/usr/bin/env bash
# Runs a 3-node tetherd deployment on this machine: three nodes on one PostgreSQL database
# behind HAProxy with the deployment's config (docs/scale-out.md). Ctrl-C stops everything it
# started (by PID).
#
#   scripts/run-cluster.sh postgresql://tether@db.example/tether   # your database
#   scripts/run-cluster.sh --local-postgres                        # a throwaway one in ./tether-cluster/
#
# Clients connect to ws://127.0.0.1:8080 (native) and http://127.0.0.1:8080 (Cognito APIs); the
# nodes listen on 127.0.0.1:8081-8083. Logs: ./tether-cluster/*.log. Set LB_PORT / NODE_BASE_PORT
# to move them; ISSUER (default http://127.0.0.1:$LB_PORT) is the deployment's public URL.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 1 ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
LB_PORT=${LB_PORT:-8080}
NODE_BASE_PORT=${NODE_BASE_PORT:-8081}
ISSUER=${ISSUER:-http://127.0.0.1:$LB_PORT}
WORK=$PWD/tether-cluster
mkdir -p "$WORK"

scripts/install-deps.sh
command -v haproxy >/dev/null || { echo "run-cluster: haproxy is missing (apt-get install haproxy)" >&2; exit 1; }
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build server/tetherd >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
TETHERD=$PWD/build/server/tetherd

pids=()
pg_stop=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$pg_stop" ]; then eval "$pg_stop" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap "exit 130" INT TERM

if [ "$1" = "--local-postgres" ]; then
  # A throwaway PostgreSQL 15 cluster (never the packaged one on 5432). PostgreSQL refuses to
  # run as root: as root it runs as the postgres user.
  PGBIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
  PGDIR=$WORK/pg
  PGPORT=${PGPORT_LOCAL:-55432}
  as_pg=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    as_pg=(runuser -u postgres --)
    chmod o+x "$WORK"
  fi
  if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
    mkdir -p "$PGDIR"; [ ${#as_pg[@]} -gt 0 ] && chown postgres:postgres "$PGDIR"
    "${as_pg[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-instructions >"$WORK/initdb.log"
  fi
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDIR -c max_connections=100" start >/dev/null
  pg_stop="${as_pg[*]} $PGBIN/pg_ctl -D $PGDIR/data -m fast -w stop"
  STORE="postgresql://postgres@127.0.0.1:$PGPORT/postgres"
  echo "run-cluster: PostgreSQL on 127.0.0.1:$PGPORT (data in $PGDIR/data)"
else
  STORE=$1
fi

nodes=()
for i in 1 2 3; do
  port=$((NODE_BASE_PORT + i - 1))
  "$TETHERD" serve --store "$STORE" --listen "127.0.0.1:$port" --node-name "node$i" --issuer "$ISSUER" \
    >"$WORK/node$i.out" 2>"$WORK/node$i.log" &
  pids+=($!)
  nodes+=("127.0.0.1:$port")
  # Node 1 first: on an empty database it creates the schema and the demo pool (the others would
  # wait on the migration lock and find them anyway; this just keeps the output in order).
  if [ "$i" -eq 1 ]; then
    for _ in $(seq 100); do grep -q "tetherd: ready" "$WORK/node1.out" && break; sleep 0.1; done
    grep -q "tetherd: ready" "$WORK/node1.out" || { cat "$WORK/node1.out" "$WORK/node1.log" | tail -20; exit 1; }
    grep "tetherd: pool" "$WORK/node1.out" || true
  fi
done
TETHER_LB_BIND="127.0.0.1:$LB_PORT" TETHER_NODE1=${nodes[0]} TETHER_NODE2=${nodes[1]} TETHER_NODE3=${nodes[2]} \
  haproxy -db -f docs/scale-out/haproxy.cfg >"$WORK/haproxy.log" 2>&1 &
pids+=($!)
echo "run-cluster: 3 nodes (${nodes[*]}) behind HAProxy on ws://127.0.0.1:$LB_PORT; Ctrl-C stops them"
wait -n "${pids[@]}" || true
echo "run-cluster: a process exited; stopping the rest (logs in $WORK)" >&2
