import { describeDeadLetter, replayMessage } from '../consume/dead-letter.ts';
import { Dispatcher } from '../dispatch/dispatcher.ts';
import { InvalidOptionError } from '../errors.ts';
import { createKafka } from '../kafka/client.ts';
import { defaultLogger } from '../logging/logger.ts';
import { KafkaProducerSender } from '../kafka/producer.ts';
import { readTopicSnapshot } from '../kafka/topic-reader.ts';

export const DLQ_USAGE = `  partita dlq list <dlq-topic> [--brokers host:port,...] [--json]
                               what a dead-letter topic holds: source, attempts, error, age
  partita dlq replay <dlq-topic> (--all | --offset P@O ...) [--brokers host:port,...]
                               send dead letters back to their source topic`;

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

function parse(args: string[]): DlqArguments {
  const [action, topic, ...rest] = args;
  if (action !== 'list' && action !== 'replay') throw new InvalidOptionError('dlq', `expected "list" or "replay", got ${JSON.stringify(action)}\n${DLQ_USAGE}`);
  if (!topic || topic.startsWith('--')) throw new InvalidOptionError(`dlq ${action}`, 'missing the dead-letter topic');
  const parsed: DlqArguments = { action, topic, brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), json: false, all: false, offsets: [] };
  for (let i = 0; i < rest.length; i += 1) {
    const flag = rest[i]!;
    if (flag === '--json') parsed.json = true;
    else if (flag === '--all') parsed.all = true;
    else if (flag === '--brokers') parsed.brokers = (rest[++i] ?? '').split(',');
    else if (flag === '--offset') {
      const value = rest[++i] ?? '';
      const match = /^(\d+)@(\d+)$/.exec(value);
      if (!match) throw new InvalidOptionError('--offset', `expected PARTITION@OFFSET such as 0@42, got ${JSON.stringify(value)}`);
      parsed.offsets.push({ partition: Number(match[1]), offset: Number(match[2]) });
    } else throw new InvalidOptionError(flag, `unknown flag\n${DLQ_USAGE}`);
  }
  if (action === 'replay' && !parsed.all && parsed.offsets.length === 0) throw new InvalidOptionError('dlq replay', 'say which dead letters: --all or --offset P@O');
  return parsed;
}

function formatAge(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)}h`;
  return `${Math.round(ms / 86_400_000)}d`;
}
