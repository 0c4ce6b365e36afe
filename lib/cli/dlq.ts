import { DeadLetterNotFoundError, DeadLetters, type DeadLetter, type ReplaySelection } from '../admin/index.ts';
import { UsageError } from '../index.ts';
import { parseCommand, refuseExtraArguments } from './args.ts';
import { describeCoordinates } from '../errors.ts';

const LIST_USAGE = `usage: partita dlq list <dlq-topic> [options]

What a dead-letter topic holds: each dead letter's position, job class and id, source, attempts,
age, error, and whether it was replayed. Reads pages by offset: a page of a large topic opens fast.

options:
  --partition <p>             only this partition (default: every partition)
  --from <offset>             start at this offset (default: the oldest; with --partition)
  --limit <n>                 at most n dead letters per partition (default 100, at most 1000)
  --brokers <host:port,...>   the cluster (default: $KAFKA_BROKERS, else 127.0.0.1:9092)
  --json                      print the partitions and dead letters as JSON
  -h, --help                  show this help`;

const SHOW_USAGE = `usage: partita dlq show <dlq-topic> <P@O> [options]

One dead letter, whole: job class, id and arguments, error, source, headers, value, replay.

options:
  --brokers <host:port,...>   the cluster (default: $KAFKA_BROKERS, else 127.0.0.1:9092)
  --json                      print it as JSON
  -h, --help                  show this help`;

const REPLAY_USAGE = `usage: partita dlq replay <dlq-topic> (--all | --source T/P | --offset P@O ...) [options]

Sends dead letters back to their source topic, each once: a replay mark is written in the same
transaction, and dead letters replayed before are skipped. They stay in the dead-letter topic.

options:
  --all                       replay every dead letter in the topic, in order
  --source <topic/p>          replay every dead letter from source partition p of topic, in order
  --offset <P@O>              replay the one at partition P, offset O (repeatable)
  --brokers <host:port,...>   the cluster (default: $KAFKA_BROKERS, else 127.0.0.1:9092)
  --json                      print what was replayed and skipped as JSON
  -h, --help                  show this help`;

const DLQ_USAGE = `usage: partita dlq <subcommand> <dlq-topic> [options]

subcommands:
  list <dlq-topic>            what a dead-letter topic holds: job, source, attempts, error, age
  show <dlq-topic> <P@O>      one dead letter, whole
  replay <dlq-topic>          send dead letters back to their source topic, each once

Run \`partita dlq <subcommand> --help\` for its options.`;

const DLQ_OPTIONS = {
  brokers: { type: 'string' },
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  offset: { type: 'string', multiple: true },
  source: { type: 'string' },
  partition: { type: 'string' },
  from: { type: 'string' },
  limit: { type: 'string' },
} as const;

/** Which of {@link DLQ_OPTIONS} each subcommand takes. */
const SUBCOMMAND_OPTIONS = {
  list: ['brokers', 'json', 'partition', 'from', 'limit'],
  show: ['brokers', 'json'],
  replay: ['brokers', 'json', 'all', 'offset', 'source'],
} as const;

type Action = keyof typeof SUBCOMMAND_OPTIONS;

const DEFAULT_LIST_LIMIT = 100;

interface DlqArguments {
  action: Action;
  topic: string;
  brokers: string[];
  json: boolean;
  /** `list`: the partition, first offset and page size. */
  partition: number | undefined;
  from: number | undefined;
  limit: number;
  /** `show`: the dead letter. */
  position: { partition: number; offset: number } | undefined;
  /** `replay`: which dead letters. */
  selection: ReplaySelection | undefined;
}

/** `partita dlq ...`; returns the exit status. */
export async function runDlq(args: string[], out: (line: string) => void): Promise<number> {
  const parsed = parse(args);
  if (typeof parsed === 'string') {
    out(parsed);
    return 0;
  }
  const deadLetters = new DeadLetters({ kafka: { brokers: parsed.brokers, clientId: 'partita-dlq' } });
  try {
    if (parsed.action === 'list') return await list(deadLetters, parsed, out);
    if (parsed.action === 'show') return await show(deadLetters, parsed, out);
    return await replay(deadLetters, parsed, out);
  } catch (error) {
    if (!(error instanceof DeadLetterNotFoundError)) throw error;
    out(error.message);
    return 1;
  } finally {
    await deadLetters.close();
  }
}

async function list(deadLetters: DeadLetters, parsed: DlqArguments, out: (line: string) => void): Promise<number> {
  const partitions = (await deadLetters.partitions(parsed.topic)).filter((p) => parsed.partition === undefined || p.partition === parsed.partition);
  if (partitions.length === 0) throw new DeadLetterNotFoundError(parsed.topic, [], `No dead-letter topic "${parsed.topic}"${parsed.partition === undefined ? '' : ` with partition ${parsed.partition}`}`);
  const pages = [];
  for (const { partition } of partitions) pages.push(await deadLetters.page(parsed.topic, { partition, from: parsed.from, limit: parsed.limit }));
  const entries = pages.flatMap((page) => page.entries);
  if (parsed.json) {
    out(JSON.stringify({ topic: parsed.topic, partitions, pages: pages.map(({ entries: _, ...page }) => page), entries }, null, 2));
    return 0;
  }
  const whole = pages.every((page) => page.from === page.low && page.next >= page.end);
  const replayed = entries.filter((e) => e.replayed !== undefined).length;
  const counted = `${entries.length} dead letters${replayed > 0 ? ` (${replayed} replayed)` : ''}`;
  if (whole) out(`${counted} in ${parsed.topic}`);
  else out(`${counted} shown from ${parsed.topic}: ${pages.map((p) => `partition ${p.partition} offsets ${p.from}..${p.next - 1} of ${p.low}..${p.end - 1}`).join(', ')}`);
  const now = Date.now();
  for (const e of entries) out(describeLine(e, now));
  return 0;
}

async function show(deadLetters: DeadLetters, parsed: DlqArguments, out: (line: string) => void): Promise<number> {
  const { partition, offset } = parsed.position!;
  const entry = await deadLetters.get(parsed.topic, partition, offset);
  if (entry === undefined) throw new DeadLetterNotFoundError(parsed.topic, [{ partition, offset }], `No dead letter in "${parsed.topic}" at ${partition}@${offset}`);
  if (parsed.json) {
    out(JSON.stringify(entry, null, 2));
    return 0;
  }
  const fields: [string, string | undefined][] = [
    ['position', `${describeCoordinates(entry)}`],
    ['job', `${entry.jobClass ?? '?'} ${entry.jobId ?? '?'}`],
    ['key', entry.key ?? '(none)'],
    ['arguments', entry.arguments === undefined ? undefined : JSON.stringify(entry.arguments)],
    ['problem', entry.problem],
    ['error', `${entry.errorClass ?? '?'}: ${entry.errorMessage ?? ''}`],
    ['attempts', entry.attempts === undefined ? undefined : String(entry.attempts)],
    ['source', describeSource(entry)],
    ['consumer group', entry.source.consumerGroup],
    ['enqueued', entry.enqueuedAt],
    ['failed', entry.failedAt],
    ['size', `${entry.sizeBytes} bytes`],
    ['dropped', entry.dropped.length > 0 ? entry.dropped.join(',') : undefined],
    ['replayed', entry.replayed === undefined ? 'no' : `${entry.replayed.at} -> ${describeCoordinates(entry.replayed.to)}`],
  ];
  for (const [name, value] of fields) if (value !== undefined) out(`${`${name}:`.padEnd(16)}${value}`);
  out('headers:');
  for (const [name, value] of Object.entries(entry.headers)) out(`  ${name}: ${value}`);
  out(`value:          ${entry.value ?? '(none)'}`);
  return 0;
}

async function replay(deadLetters: DeadLetters, parsed: DlqArguments, out: (line: string) => void): Promise<number> {
  const result = await deadLetters.replay(parsed.topic, parsed.selection!);
  if (parsed.json) {
    out(JSON.stringify(result, null, 2));
  } else {
    for (const { deadLetter: d, to } of result.replayed) out(`replayed ${d.partition}@${d.offset} -> ${describeCoordinates(to)}`);
    for (const { deadLetter: d, why, reason } of result.skipped) out(`skipped ${d.partition}@${d.offset} (${why}): ${reason}`);
    out(`${result.replayed.length} dead letters replayed, ${result.skipped.length} skipped (they stay in ${parsed.topic})`);
  }
  return result.skipped.some((s) => s.why === 'not-replayable') ? 1 : 0;
}

function describeLine(e: DeadLetter, now: number): string {
  const job = e.jobClass === undefined && e.jobId === undefined ? '' : `${e.jobClass ?? '?'} ${e.jobId ?? '?'}  `;
  const replayed = e.replayed === undefined ? '' : `  replayed ${e.replayed.at} -> ${describeCoordinates(e.replayed.to)}`;
  const age = formatAge(Math.max(0, now - Date.parse(e.failedAt)));
  return `${e.partition}@${e.offset}  ${job}from ${describeSource(e)}  attempts ${e.attempts ?? '?'}  age ${age}  ${e.errorClass ?? '?'}: ${(e.errorMessage ?? '').slice(0, 160)}${replayed}`;
}

function describeSource(e: DeadLetter): string {
  return `${e.source.topic ?? '?'}/${e.source.partition ?? '?'}@${e.source.offset ?? '?'}`;
}

/** The arguments, or the help text asked for. */
function parse(args: string[]): DlqArguments | string {
  // A flag no subcommand takes is reported against the subcommand it was given to.
  const named = args.find((arg) => !arg.startsWith('-'));
  const parsedAs = named !== undefined && named in SUBCOMMAND_OPTIONS ? `dlq ${named}` : 'dlq';
  const { values, positionals } = parseCommand(parsedAs, args, DLQ_OPTIONS);
  const [action, topic, where] = positionals;
  if (action === undefined) {
    if (values.help) return DLQ_USAGE;
    throw new UsageError('dlq', 'missing the subcommand: list, show or replay');
  }
  if (!(action in SUBCOMMAND_OPTIONS)) throw new UsageError('dlq', `unknown subcommand ${JSON.stringify(action)}: expected list, show or replay`);
  const subcommand = action as Action;
  const command = `dlq ${subcommand}`;
  if (values.help) return { list: LIST_USAGE, show: SHOW_USAGE, replay: REPLAY_USAGE }[subcommand];
  const allowed: readonly string[] = SUBCOMMAND_OPTIONS[subcommand];
  const foreign = Object.keys(values).find((name) => !allowed.includes(name) && name !== 'help');
  if (foreign !== undefined) throw new UsageError(command, `unknown option --${foreign}`);
  if (topic === undefined) throw new UsageError(command, 'missing the dead-letter topic');
  refuseExtraArguments(command, positionals, subcommand === 'show' ? 3 : 2);
  const positionOf = (value: string, flag: string) => {
    const match = /^(\d+)@(\d+)$/.exec(value);
    if (!match) throw new UsageError(command, `${flag} expects PARTITION@OFFSET such as 0@42, got ${JSON.stringify(value)}`);
    return { partition: Number(match[1]), offset: Number(match[2]) };
  };
  const count = (flag: 'partition' | 'from' | 'limit', min: number, max = Number.MAX_SAFE_INTEGER) => {
    const value = values[flag];
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(command, `--${flag} expects a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got ${JSON.stringify(value)}`);
    return n;
  };
  const partition = count('partition', 0);
  const from = count('from', 0);
  if (from !== undefined && partition === undefined) throw new UsageError(command, '--from needs --partition (offsets are per partition)');
  let position: DlqArguments['position'];
  if (subcommand === 'show') {
    if (where === undefined) throw new UsageError(command, 'missing the dead letter: PARTITION@OFFSET such as 0@42');
    position = positionOf(where, 'the dead letter');
  }
  let selection: ReplaySelection | undefined;
  if (subcommand === 'replay') {
    const offsets = (values.offset ?? []).map((value) => positionOf(value, '--offset'));
    const chosen = [values.all ? 1 : 0, values.source === undefined ? 0 : 1, offsets.length > 0 ? 1 : 0].reduce((a, b) => a + b, 0);
    if (chosen === 0) throw new UsageError(command, 'say which dead letters: --all or --offset P@O (or --source T/P)');
    if (chosen > 1) throw new UsageError(command, 'choose one of --all, --source and --offset');
    if (values.all) selection = { all: true };
    else if (values.source !== undefined) {
      const match = /^(.+)\/(\d+)$/.exec(values.source);
      if (!match) throw new UsageError(command, `--source expects TOPIC/PARTITION such as orders/3, got ${JSON.stringify(values.source)}`);
      selection = { source: { topic: match[1]!, partition: Number(match[2]) } };
    } else selection = { offsets };
  }
  const brokers = (values.brokers ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  return { action: subcommand, topic, brokers, json: values.json ?? false, partition, from, limit: count('limit', 1, 1000) ?? DEFAULT_LIST_LIMIT, position, selection };
}

function formatAge(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)}h`;
  return `${Math.round(ms / 86_400_000)}d`;
}
