#!/usr/bin/env bash
# Start a local Apache Kafka (KRaft, combined broker+controller) for development, tests and CI.
# Jars come from Maven Central through infra/kafka/pom.xml; no Docker, no download mirrors.
#
#   bash infra/kafka/start.sh               one node on 127.0.0.1:9092 (controller 9093)
#   bash infra/kafka/start.sh --nodes 3     three nodes: 9092/9093, 9094/9095, 9096/9097
#
# Env: KAFKA_BROKERS (set: use that cluster, start nothing), KAFKA_PORT (9092),
#      KAFKA_CONTROLLER_PORT (9093), KAFKA_NODES (1), KAFKA_START_TIMEOUT (120 s),
#      KAFKA_HEAP_OPTS ("-Xms512m -Xmx1g"), KAFKA_JVM_OPTS (extra JVM flags),
#      KAFKA_SERVER_PROPS (extra "key=value ..." appended to server.properties),
#      KAFKA_MAVEN_REPO (Maven local repo; default ~/.m2/repository).
# Node i (0-based) listens on KAFKA_PORT+2i and its controller on KAFKA_CONTROLLER_PORT+2i.
# Each node has its own run dir infra/kafka/run/<port>/: server.properties, data/,
# logs/server.log, stdout.log, kafka.pid. See README.md.
set -euo pipefail

T0=$(date +%s%N)
HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
LIB_DIR="$HERE/lib"
RUN_ROOT="$HERE/run"
READY_LINE="Kafka Server started"

say() { printf 'kafka: %s\n' "$*"; }
note() { printf 'kafka: %s\n' "$*" >&2; }
die() { printf 'kafka: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

elapsed() {
  local ms=$((($(date +%s%N) - T0) / 1000000))
  printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

# ---------------------------------------------------------------- arguments
NODES="${KAFKA_NODES:-1}"
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) [ $# -ge 2 ] || die "--nodes needs a number"; NODES="$2"; shift 2 ;;
    --nodes=*) NODES="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

if [ -n "${KAFKA_BROKERS:-}" ]; then
  say "KAFKA_BROKERS=$KAFKA_BROKERS is set: using that cluster, starting nothing"
  exit 0
fi

PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
[[ "$NODES" =~ ^[1-9]$ ]] || die "--nodes / KAFKA_NODES must be 1..9, got '$NODES'"
[[ "$PORT" =~ ^[0-9]+$ && "$CONTROLLER_PORT" =~ ^[0-9]+$ ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must be numbers"
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "KAFKA_START_TIMEOUT must be a number of seconds"

declare -a BPORTS=() CPORTS=() DIRS=()
for ((i = 0; i < NODES; i++)); do
  BPORTS+=($((PORT + 2 * i)))
  CPORTS+=($((CONTROLLER_PORT + 2 * i)))
  DIRS+=("$RUN_ROOT/$((PORT + 2 * i))")
done
if [ "$(printf '%s\n' "${BPORTS[@]}" "${CPORTS[@]}" | sort -u | wc -l)" -ne $((2 * NODES)) ]; then
  die "ports overlap: brokers ${BPORTS[*]}, controllers ${CPORTS[*]}; pick KAFKA_PORT / KAFKA_CONTROLLER_PORT further apart"
fi
for p in "${BPORTS[@]}" "${CPORTS[@]}"; do
  if [ "$p" -lt 1024 ] || [ "$p" -gt 65535 ]; then die "port $p out of range 1024..65535"; fi
done
BROKERS_CSV="$(printf '127.0.0.1:%s,' "${BPORTS[@]}")"
BROKERS_CSV="${BROKERS_CSV%,}"
VOTERS=""
for ((i = 0; i < NODES; i++)); do VOTERS+="$((i + 1))@127.0.0.1:${CPORTS[i]},"; done
VOTERS="${VOTERS%,}"
if [ "$NODES" -ge 3 ]; then RF=3; MIN_ISR=2; else RF="$NODES"; MIN_ISR=1; fi
declare -a EXTRA_PROPS=()
read -r -a EXTRA_PROPS <<<"$(printf '%s' "${KAFKA_SERVER_PROPS:-}" | tr '\n' ' ')"
for kv in "${EXTRA_PROPS[@]}"; do
  [[ "$kv" =~ ^[A-Za-z0-9._-]+=.*$ ]] || die "KAFKA_SERVER_PROPS: expected key=value items separated by spaces, got '$kv'"
done

# ---------------------------------------------------------------- tools
INSTALL_HINT="install them (Debian/Ubuntu: apt-get install openjdk-17-jre-headless maven), or set KAFKA_BROKERS=host:port to use an existing cluster"
JAVA=java
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then JAVA="$JAVA_HOME/bin/java"; fi
command -v "$JAVA" >/dev/null 2>&1 || die "java not found: the local Kafka needs Java 17+ and Maven; $INSTALL_HINT"
JAVA_MAJOR="$("$JAVA" -version 2>&1 | sed -nE '1s/.* version "([0-9]+).*/\1/p')"
if ! [[ "$JAVA_MAJOR" =~ ^[0-9]+$ ]] || [ "$JAVA_MAJOR" -lt 17 ]; then
  die "Kafka 4.1 needs Java 17+, found: $("$JAVA" -version 2>&1 | head -n 1); $INSTALL_HINT"
fi

mkdir -p "$RUN_ROOT"
# One start/stop at a time (parallel test runners may call this concurrently).
# fd 9 is closed for the broker so that it does not hold the lock.
exec 9>"$RUN_ROOT/.lock"
flock -w 600 9 || die "timed out waiting for $RUN_ROOT/.lock"

# ---------------------------------------------------------------- jars
ensure_jars() {
  local want tmp
  want="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
  if [ -f "$LIB_DIR/.pom.sha256" ] && [ "$(cat "$LIB_DIR/.pom.sha256")" = "$want" ]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (needed once to fetch the Kafka jars); $INSTALL_HINT"
  note "fetching Kafka jars from Maven Central into infra/kafka/lib/ (cached in the Maven local repo) ..."
  tmp="$RUN_ROOT/.lib.tmp.$$"
  rm -rf "$tmp"
  local -a repo_opt=()
  [ -n "${KAFKA_MAVEN_REPO:-}" ] && repo_opt=("-Dmaven.repo.local=$KAFKA_MAVEN_REPO")
  if ! mvn -B -q -Dstyle.color=never "${repo_opt[@]}" -f "$HERE/pom.xml" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
      >"$RUN_ROOT/mvn.log" 2>&1 9>&-; then
    tail -n 40 "$RUN_ROOT/mvn.log" >&2 || true
    rm -rf "$tmp"
    die "mvn could not resolve the Kafka jars (full output: $RUN_ROOT/mvn.log)"
  fi
  ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "mvn ran but no kafka_2.13 jar was copied"; }
  printf '%s\n' "$want" >"$tmp/.pom.sha256"
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
  local jars=("$LIB_DIR"/*.jar)
  note "jars ready: ${#jars[@]} in infra/kafka/lib/ ($(elapsed))"
}

# ---------------------------------------------------------------- helpers
# shellcheck source=common.sh
source "$HERE/common.sh"

# Prints the pid of the broker of run dir $1 if it is alive and really ours.
node_pid() {
  local dir="$1" pid
  [ -s "$dir/kafka.pid" ] || return 1
  pid="$(cat "$dir/kafka.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  running "$pid" || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "-Dpartita.kafka.run.dir=$dir" || return 1
  printf '%s\n' "$pid"
}

port_open() {
  # shellcheck disable=SC2016  # $1 expands in the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

gen_cluster_id() {
  # 16 random bytes, base64url without padding: 22 chars, like kafka-storage random-uuid.
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    if [ "${#id}" -eq 22 ] && [ "${id:0:1}" != "-" ]; then printf '%s\n' "$id"; return; fi
  done
}

render_config() {
  local i="$1" dir="${DIRS[$1]}"
  sed -e "s|@NODE_ID@|$((i + 1))|g" \
      -e "s|@PORT@|${BPORTS[i]}|g" \
      -e "s|@CONTROLLER_PORT@|${CPORTS[i]}|g" \
      -e "s|@QUORUM_VOTERS@|$VOTERS|g" \
      -e "s|@DATA_DIR@|$dir/data|g" \
      -e "s|@RF@|$RF|g" \
      -e "s|@MIN_ISR@|$MIN_ISR|g" \
      "$HERE/server.properties.template" >"$dir/server.properties"
  if [ "${#EXTRA_PROPS[@]}" -gt 0 ]; then
    printf '\n# From KAFKA_SERVER_PROPS (later keys win)\n' >>"$dir/server.properties"
    printf '%s\n' "${EXTRA_PROPS[@]}" >>"$dir/server.properties"
  fi
  printf '%s\n' "$BROKERS_CSV" >"$dir/cluster.brokers"
}

# Format the KRaft storage of node $1 with cluster id $2 (in the background; caller waits).
format_node() {
  local dir="${DIRS[$1]}"
  "$JAVA" -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m \
    -Dlog4j2.configurationFile="$HERE/log4j2.xml" -Dkafka.logs.dir="$dir/logs" \
    -cp "$LIB_DIR/*" kafka.tools.StorageTool format \
    --cluster-id "$2" --config "$dir/server.properties" --ignore-formatted \
    >"$dir/format.log" 2>&1 </dev/null 9>&-
}

# Start node $1 detached (own session, immune to SIGHUP); prints its pid.
launch_node() {
  local i="$1" dir="${DIRS[$1]}" pid="" n
  local -a jvm
  # shellcheck disable=SC2206  # word splitting of the *_OPTS env vars is intended
  jvm=(${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g} -XX:+UseG1GC -XX:MaxGCPauseMillis=20
       -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent
       -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
       "-Dlog4j2.configurationFile=$HERE/log4j2.xml" "-Dkafka.logs.dir=$dir/logs"
       "-Dpartita.kafka.run.dir=$dir" ${KAFKA_JVM_OPTS:-})
  rm -f "$dir/kafka.pid"
  # The inner bash writes its own pid, then execs java under that same pid.
  # shellcheck disable=SC2016
  setsid nohup bash -c 'echo $$ >"$1/kafka.pid"; shift; exec "$@"' _ "$dir" \
    "$JAVA" "${jvm[@]}" -cp "$LIB_DIR/*" kafka.Kafka "$dir/server.properties" \
    </dev/null >>"$dir/stdout.log" 2>&1 9>&- &
  for ((n = 0; n < 100; n++)); do
    [ -s "$dir/kafka.pid" ] && pid="$(cat "$dir/kafka.pid")" && [ -n "$pid" ] && break
    sleep 0.05
  done
  [ -n "$pid" ] || die "node on port ${BPORTS[i]} did not start (see $dir/stdout.log)"
  printf '%s\n' "$pid"
}

show_logs() {
  local dir="$1"
  if [ -s "$dir/stdout.log" ]; then
    printf -- '----- %s (last 20 lines)\n' "$dir/stdout.log" >&2
    tail -n 20 "$dir/stdout.log" >&2 || true
  fi
  if [ -s "$dir/logs/server.log" ]; then
    printf -- '----- %s (last 40 lines)\n' "$dir/logs/server.log" >&2
    tail -n 40 "$dir/logs/server.log" >&2 || true
  fi
}

declare -a STARTED_PIDS=()
abort_started() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  [ "${#STARTED_PIDS[@]}" -eq 0 ] || note "killed the node(s) started by this call (pids ${STARTED_PIDS[*]})"
}

# Wait until node $1 logged the ready line and answers on its port.
wait_ready() {
  local i="$1" dir="${DIRS[$1]}" port="${BPORTS[$1]}" pid="$2" deadline="$3"
  while :; do
    if ! running "$pid"; then
      show_logs "$dir"
      abort_started
      die "node on 127.0.0.1:$port (pid $pid) exited during startup; logs: $dir/"
    fi
    if grep -qF "$READY_LINE" "$dir/logs/server.log" 2>/dev/null && port_open "$port"; then
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      show_logs "$dir"
      abort_started
      die "node on 127.0.0.1:$port (pid $pid) not ready after ${TIMEOUT}s; logs: $dir/"
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------- what runs already
declare -a PIDS=()
alive=0
for ((i = 0; i < NODES; i++)); do
  dir="${DIRS[i]}"
  if pid="$(node_pid "$dir")"; then
    have="$(cat "$dir/cluster.brokers" 2>/dev/null || echo '?')"
    [ "$have" = "$BROKERS_CSV" ] \
      || die "127.0.0.1:${BPORTS[i]} already runs as part of another layout ($have); stop it first: bash $HERE/stop.sh"
    PIDS[i]="$pid"
    alive=$((alive + 1))
  else
    PIDS[i]=""
  fi
done

deadline=$(($(date +%s) + TIMEOUT))

if [ "$alive" -eq "$NODES" ]; then
  for ((i = 0; i < NODES; i++)); do wait_ready "$i" "${PIDS[i]}" "$deadline"; done
  if [ "$NODES" -eq 1 ]; then
    say "already running on 127.0.0.1:$PORT (pid ${PIDS[0]})"
  else
    say "already running on $BROKERS_CSV ($NODES nodes, pids ${PIDS[*]})"
    printf 'KAFKA_BROKERS=%s\n' "$BROKERS_CSV"
  fi
  exit 0
fi

# Ports of the nodes to start must be free.
for ((i = 0; i < NODES; i++)); do
  [ -z "${PIDS[i]}" ] || continue
  for p in "${BPORTS[i]}" "${CPORTS[i]}"; do
    if port_open "$p"; then
      die "127.0.0.1:$p is in use by a process this script did not start (or lost track of: try bash $HERE/stop.sh); free it, choose other ports with KAFKA_PORT / KAFKA_CONTROLLER_PORT, or set KAFKA_BROKERS=host:port"
    fi
  done
done

ensure_jars

if [ "$alive" -eq 0 ]; then
  # Fresh cluster: wipe every node's run dir, new cluster id, format.
  CLUSTER_ID="$(gen_cluster_id)"
  for ((i = 0; i < NODES; i++)); do
    rm -rf "${DIRS[i]}"
    mkdir -p "${DIRS[i]}/logs" "${DIRS[i]}/data"
    render_config "$i"
    printf '%s\n' "$CLUSTER_ID" >"${DIRS[i]}/cluster.id"
  done
  note "formatting KRaft storage (cluster id $CLUSTER_ID, $NODES node(s)) ..."
else
  # Some nodes of this cluster run (e.g. a failover test killed one): bring back the
  # missing ones with their data; format only those whose storage is gone.
  CLUSTER_ID="$(cat "${DIRS[0]}/cluster.id" 2>/dev/null || true)"
  for ((i = 0; i < NODES; i++)); do
    [ -n "${PIDS[i]}" ] && CLUSTER_ID="$(cat "${DIRS[i]}/cluster.id")" && break
  done
  [ -n "$CLUSTER_ID" ] || die "cannot find the cluster id of the running nodes; run bash $HERE/stop.sh first"
  for ((i = 0; i < NODES; i++)); do
    [ -z "${PIDS[i]}" ] || continue
    mkdir -p "${DIRS[i]}/logs" "${DIRS[i]}/data"
    render_config "$i"
    printf '%s\n' "$CLUSTER_ID" >"${DIRS[i]}/cluster.id"
  done
  note "restarting the stopped node(s) of the running cluster $BROKERS_CSV ..."
fi

declare -a FORMAT_JOBS=()
for ((i = 0; i < NODES; i++)); do
  [ -z "${PIDS[i]}" ] || continue
  format_node "$i" "$CLUSTER_ID" &
  FORMAT_JOBS[i]=$!
done
for ((i = 0; i < NODES; i++)); do
  [ -n "${FORMAT_JOBS[i]:-}" ] || continue
  if ! wait "${FORMAT_JOBS[i]}"; then
    cat "${DIRS[i]}/format.log" >&2 || true
    die "formatting the storage of node $((i + 1)) failed (see ${DIRS[i]}/format.log)"
  fi
done

deadline=$(($(date +%s) + TIMEOUT))
for ((i = 0; i < NODES; i++)); do
  [ -z "${PIDS[i]}" ] || continue
  PIDS[i]="$(launch_node "$i")"
  STARTED_PIDS+=("${PIDS[i]}")
done
for ((i = 0; i < NODES; i++)); do wait_ready "$i" "${PIDS[i]}" "$deadline"; done

if [ "$NODES" -eq 1 ]; then
  say "ready on 127.0.0.1:$PORT (pid ${PIDS[0]}, started in $(elapsed))"
else
  say "ready on $BROKERS_CSV ($NODES nodes, pids ${PIDS[*]}, started in $(elapsed))"
  printf 'KAFKA_BROKERS=%s\n' "$BROKERS_CSV"
fi
