import { describeDeadLetter, replayMessage } from '../consume/dead-letter.ts';
import { Dispatcher } from '../dispatch/dispatcher.ts';
import { UsageError } from '../errors.ts';
import { createKafka } from '../kafka/client.ts';
import { defaultLogger } from '../logging/logger.ts';
import { KafkaProducerSender } from '../kafka/producer.ts';
import { readTopicSnapshot } from '../kafka/topic-reader.ts';
import { parseCommand, refuseExtraArguments } from './args.ts';

const LIST_USAGE = `usage: partita dlq list <dlq-topic> [options]

What a dead-letter topic holds: each dead letter's position, source, attempts, age and error.

options:
  --brokers <host:port,...>   the cluster (default: $KAFKA_BROKERS, else 127.0.0.1:9092)
  --json                      print the dead letters as JSON
  -h, --help                  show this help`;

const REPLAY_USAGE = `usage: partita dlq replay <dlq-topic> (--all | --offset P@O ...) [options]

Sends dead letters back to their source topic (they also stay in the dead-letter topic).

options:
  --all                       replay every dead letter in the topic
  --offset <P@O>              replay the one at partition P, offset O (repeatable)
  --brokers <host:port,...>   the cluster (default: $KAFKA_BROKERS, else 127.0.0.1:9092)
  -h, --help                  show this help`;

const DLQ_USAGE = `usage: partita dlq <subcommand> <dlq-topic> [options]

subcommands:
  list <dlq-topic>            what a dead-letter topic holds: source, attempts, error, age
  replay <dlq-topic>          send dead letters back to their source topic

Run \`partita dlq <subcommand> --help\` for its options.`;

const DLQ_OPTIONS = {
  brokers: { type: 'string' },
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  offset: { type: 'string', multiple: true },
} as const;

/** Which of {@link DLQ_OPTIONS} each subcommand takes. */
const SUBCOMMAND_OPTIONS = { list: ['brokers', 'json'], replay: ['brokers', 'all', 'offset'] } as const;

interface DlqArguments {
  action: 'list' | 'replay';
  topic: string;
  brokers: string[];
  json: boolean;
  all: boolean;
  offsets: { partition: number; offset: number }[];
}

/** `partita dlq ...`; returns the exit status. */
export async function runDlq(args: string[], out: (line: string) => void): Promise<number> {
  const parsed = parse(args);
  if (typeof parsed === 'string') {
    out(parsed);
    return 0;
  }
  const kafka = createKafka({ brokers: parsed.brokers, clientId: 'partita-dlq', logLevel: 'error' }, '--brokers', defaultLogger());
  const records = await readTopicSnapshot(kafka, parsed.topic);
  if (parsed.action === 'list') {
    const entries = records.map((record) => describeDeadLetter(record));
    if (parsed.json) {
      out(JSON.stringify(entries, null, 2));
      return 0;
    }
    out(`${entries.length} dead letters in ${parsed.topic}`);
    for (const e of entries) {
      const source = `${e.sourceTopic ?? '?'}/${e.sourcePartition ?? '?'}@${e.sourceOffset ?? '?'}`;
      out(`${e.partition}@${e.offset}  from ${source}  attempts ${e.attempts ?? '?'}  age ${formatAge(e.ageMs)}  ${e.errorClass ?? '?'}: ${(e.errorMessage ?? '').slice(0, 160)}`);
    }
    return 0;
  }
  const selected = parsed.all ? records : records.filter((r) => parsed.offsets.some((o) => o.partition === r.partition && o.offset === r.offset));
  const missing = parsed.offsets.filter((o) => !records.some((r) => r.partition === o.partition && r.offset === o.offset));
  if (missing.length > 0) {
    out(`not in ${parsed.topic}: ${missing.map((o) => `${o.partition}@${o.offset}`).join(', ')}`);
    return 1;
  }
  const dispatcher = new Dispatcher(new KafkaProducerSender(kafka));
  try {
    const deliveries = await dispatcher.produceSync(selected.map((record) => replayMessage(record)));
    selected.forEach((record, i) => {
      const d = deliveries[i]!;
      out(`replayed ${record.partition}@${record.offset} -> ${d.topic}/${d.partition}@${d.offset}`);
    });
  } finally {
    await dispatcher.close();
  }
  out(`${selected.length} dead letters replayed (they stay in ${parsed.topic})`);
  return 0;
}

/** The arguments, or the help text asked for. */
function parse(args: string[]): DlqArguments | string {
  const { values, positionals } = parseCommand('dlq', args, DLQ_OPTIONS);
  const [action, topic] = positionals;
  if (action === undefined) {
    if (values.help) return DLQ_USAGE;
    throw new UsageError('dlq', 'missing the subcommand: list or replay');
  }
  if (action !== 'list' && action !== 'replay') throw new UsageError('dlq', `unknown subcommand ${JSON.stringify(action)}: expected list or replay`);
  const command = `dlq ${action}`;
  if (values.help) return action === 'list' ? LIST_USAGE : REPLAY_USAGE;
  const allowed: readonly string[] = SUBCOMMAND_OPTIONS[action];
  const foreign = Object.keys(values).find((name) => !allowed.includes(name) && name !== 'help');
  if (foreign !== undefined) throw new UsageError(command, `unknown option --${foreign}`);
  if (topic === undefined) throw new UsageError(command, 'missing the dead-letter topic');
  refuseExtraArguments(command, positionals, 2);
  const offsets = (values.offset ?? []).map((value) => {
    const match = /^(\d+)@(\d+)$/.exec(value);
    if (!match) throw new UsageError(command, `--offset expects PARTITION@OFFSET such as 0@42, got ${JSON.stringify(value)}`);
    return { partition: Number(match[1]), offset: Number(match[2]) };
  });
  if (action === 'replay' && !values.all && offsets.length === 0) throw new UsageError(command, 'say which dead letters: --all or --offset P@O');
  const brokers = (values.brokers ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  return { action, topic, brokers, json: values.json ?? false, all: values.all ?? false, offsets };
}

function formatAge(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)}h`;
  return `${Math.round(ms / 86_400_000)}d`;
}
