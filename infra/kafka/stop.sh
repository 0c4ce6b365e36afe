#!/usr/bin/env bash
# Stop the local Kafka node(s) started by infra/kafka/start.sh.
#
#   bash infra/kafka/stop.sh                  every node started from this checkout
#   KAFKA_PORT=9092 bash infra/kafka/stop.sh  the node on that port and the rest of its cluster
#
# SIGTERM, up to KAFKA_STOP_TIMEOUT (30) s for a clean exit, then SIGKILL. Removes the
# nodes' data dirs; logs stay in infra/kafka/run/<port>/logs/. Exits 0 when nothing runs.
# Does nothing when KAFKA_BROKERS is set (an external cluster is in use).
set -euo pipefail

T0=$(date +%s%N)
HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
RUN_ROOT="$HERE/run"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

say() { printf 'kafka: %s\n' "$*"; }
die() { printf 'kafka: error: %s\n' "$*" >&2; exit 1; }

elapsed() {
  local ms=$((($(date +%s%N) - T0) / 1000000))
  printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

case "${1:-}" in
  -h|--help) sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
  "") ;;
  *) die "unknown argument '$1' (see --help)" ;;
esac

if [ -n "${KAFKA_BROKERS:-}" ]; then
  say "KAFKA_BROKERS=$KAFKA_BROKERS is set: external cluster, nothing to stop"
  exit 0
fi
[[ "$STOP_TIMEOUT" =~ ^[0-9]+$ ]] || die "KAFKA_STOP_TIMEOUT must be a number of seconds"

if [ ! -d "$RUN_ROOT" ]; then
  say "nothing running"
  exit 0
fi

exec 9>"$RUN_ROOT/.lock"
flock -w 600 9 || die "timed out waiting for $RUN_ROOT/.lock"

# shellcheck source=common.sh
source "$HERE/common.sh"

# Run dir of a live broker started by start.sh (from its -Dpartita.kafka.run.dir= flag), or fail.
run_dir_of() {
  local pid="$1" d
  running "$pid" || return 1
  d="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n 's/^-Dpartita\.kafka\.run\.dir=//p' | head -n 1)"
  [ -n "$d" ] || return 1
  printf '%s\n' "$d"
}

# Which run dirs to stop.
declare -a TARGETS=()
if [ -n "${KAFKA_PORT:-}" ]; then
  [[ "$KAFKA_PORT" =~ ^[0-9]+$ ]] || die "KAFKA_PORT must be a number"
  TARGETS=("$RUN_ROOT/$KAFKA_PORT")
  if [ -s "$RUN_ROOT/$KAFKA_PORT/cluster.brokers" ]; then
    TARGETS=()
    IFS=',' read -r -a members <"$RUN_ROOT/$KAFKA_PORT/cluster.brokers"
    for m in "${members[@]}"; do TARGETS+=("$RUN_ROOT/${m##*:}"); done
  fi
else
  for d in "$RUN_ROOT"/*/; do
    [ -d "$d" ] && TARGETS+=("${d%/}")
  done
fi

is_target() {
  local d="$1" t
  [ -z "${KAFKA_PORT:-}" ] && case "$d" in "$RUN_ROOT"/*) return 0 ;; esac
  for t in "${TARGETS[@]}"; do [ "$t" = "$d" ] && return 0; done
  return 1
}

# Live brokers of ours: every process whose command line carries the run-dir marker
# of a target (this also finds nodes whose pid file was lost).
declare -a PIDS=() PDIRS=()
for p in /proc/[0-9]*; do
  pid="${p#/proc/}"
  d="$(run_dir_of "$pid" 2>/dev/null)" || continue
  is_target "$d" || continue
  PIDS+=("$pid")
  PDIRS+=("$d")
done

if [ "${#PIDS[@]}" -eq 0 ]; then
  for t in "${TARGETS[@]}"; do rm -rf "$t/data" "$t/kafka.pid"; done
  say "nothing running"
  exit 0
fi

# All at once: in a multi-node cluster each broker's controlled shutdown needs the
# controller quorum, which is gone if the nodes are stopped one after the other.
kill -TERM "${PIDS[@]}" 2>/dev/null || true
deadline=$(($(date +%s) + STOP_TIMEOUT))
killed=()
while :; do
  left=()
  for pid in "${PIDS[@]}"; do running "$pid" && left+=("$pid"); done
  [ "${#left[@]}" -eq 0 ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    printf 'kafka: still running after %ss, sending SIGKILL to %s\n' "$STOP_TIMEOUT" "${left[*]}" >&2
    kill -KILL "${left[@]}" 2>/dev/null || true
    killed=("${left[@]}")
    for _ in $(seq 1 50); do
      left=()
      for pid in "${killed[@]}"; do running "$pid" && left+=("$pid"); done
      [ "${#left[@]}" -eq 0 ] && break
      sleep 0.1
    done
    [ "${#left[@]}" -eq 0 ] || die "could not stop pid(s) ${left[*]}"
    break
  fi
  sleep 0.2
done

for ((i = 0; i < ${#PIDS[@]}; i++)); do
  rm -rf "${PDIRS[i]}/data" "${PDIRS[i]}/kafka.pid"
  how="stopped"
  for k in "${killed[@]}"; do [ "$k" = "${PIDS[i]}" ] && how="killed"; done
  say "$how 127.0.0.1:$(basename "${PDIRS[i]}") (pid ${PIDS[i]}, logs in ${PDIRS[i]}/logs/)"
done
for t in "${TARGETS[@]}"; do rm -rf "$t/data" "$t/kafka.pid"; done
say "all stopped in $(elapsed)"
