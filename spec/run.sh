#!/usr/bin/env bash
# npm test: unit and integration specs against a real broker. Starts the local broker from
# infra/kafka when KAFKA_BROKERS is unset and nothing answers on 127.0.0.1:${KAFKA_PORT:-9092}, stops what it
# started, and prints mocha's "N passed, N failed" summary as the last line.
set -uo pipefail
cd "$(dirname "$0")/.."

port="${KAFKA_PORT:-9092}"
started=0
if [ -z "${KAFKA_BROKERS:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
  bash infra/kafka/start.sh || { echo "0 passed, 1 failed"; exit 1; }
  started=1
fi
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:$port}"

summary="$(mktemp)"
PARTITA_SUMMARY_FILE="$summary" npx mocha 'spec/unit/**/*.spec.ts' 'spec/integration/**/*.spec.ts' 'spec/package/**/*.spec.ts' "$@"
status=$?

if [ "$started" = 1 ]; then env -u KAFKA_BROKERS bash infra/kafka/stop.sh >/dev/null || true; fi
if [ -s "$summary" ]; then cat "$summary"; else echo "0 passed, 1 failed"; status=1; fi
rm -f "$summary"
exit $status
