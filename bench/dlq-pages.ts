/**
 * Dead-letter pages on a large dead-letter topic: fills one partition with 1 000 000 small dead
 * letters (a child process, so the reader's memory is its own), then times `DeadLetters.page` at
 * the start, the middle and the end, and 1 000 pages at random offsets, with the reader's RSS and
 * heap every 200 pages.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 npx tsx bench/dlq-pages.ts [--records 1000000] [--pages 1000] [--topic name]
 *
 * A script, not a spec: it prints its figures (README, "Failures and dead letters").
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DeadLetters } from '../lib/admin/index.ts';
import { encodeEnvelope } from '../lib/job/envelope.ts';
import { Kafka, logLevel } from '../lib/kafka/kafkajs.ts';

const { values } = parseArgs({ options: { records: { type: 'string' }, pages: { type: 'string' }, topic: { type: 'string' }, fill: { type: 'boolean' } } });
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const records = Number(values.records ?? 1_000_000);
const randomPages = Number(values.pages ?? 1000);
const topic = values.topic ?? `bench-dlq-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** Produces `records` dead letters to partition 0 of `topic`, 2 000 per request (under the broker's 1 MB), 4 requests at a time. */
async function fill(): Promise<void> {
  const kafka = new Kafka({ brokers, clientId: 'bench-dlq-fill', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const perRequest = 2000;
  const inFlight: Promise<unknown>[] = [];
  for (let start = 0; start < records; start += perRequest) {
    const messages = Array.from({ length: Math.min(perRequest, records - start) }, (_, i) => {
      const n = start + i;
      const job = encodeEnvelope(
        { job_class: 'SendEmail', job_id: `job-${n}`, queue_name: 'emails', arguments: [n], executions: 0, exception_executions: {}, enqueued_at: new Date().toISOString() },
        `user-${n % 1000}`,
      );
      return {
        key: job.key,
        value: job.value,
        partition: 0,
        headers: { ...job.headers, 'source-topic': 'emails', 'source-partition': '0', 'source-offset': String(n), 'source-attempts': '4', 'error-class': 'Error', 'error-message': 'smtp down' },
      };
    });
    inFlight.push(producer.send({ topic, acks: 1, messages }));
    if (inFlight.length >= 4) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  await producer.disconnect();
}

function rssMiB(): number {
  return Math.round(process.memoryUsage().rss / 1048576);
}

function heapMiB(): number {
  return Math.round(process.memoryUsage().heapUsed / 1048576);
}

async function timed<T>(body: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const result = await body();
  return [result, Number(process.hrtime.bigint() - started) / 1e6];
}

async function measure(): Promise<void> {
  const fillStarted = Date.now();
  const child = spawnSync(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, '--fill', '--records', String(records), '--topic', topic], { stdio: 'inherit' });
  if (child.status !== 0) throw new Error(`filling ${topic} failed (status ${child.status})`);
  console.log(`filled ${topic} with ${records} dead letters in ${((Date.now() - fillStarted) / 1000).toFixed(1)} s`);
  const deadLetters = new DeadLetters({ kafka: { brokers, clientId: 'bench-dlq' } });
  const rssBefore = rssMiB();
  const [counts, countsMs] = await timed(() => deadLetters.counts(topic));
  console.log(`counts: total ${counts.total}, waiting ${counts.waiting} in ${countsMs.toFixed(0)} ms`);
  for (const [name, from] of [['first', 0], ['middle', Math.floor(records / 2)], ['last', records - 50]] as const) {
    const [page, ms] = await timed(() => deadLetters.page(topic, { partition: 0, from, limit: 50 }));
    console.log(`page ${name} (offset ${from}, 50 entries): ${ms.toFixed(0)} ms, got ${page.entries.length} from offset ${page.entries[0]?.offset}, RSS ${rssMiB()} MiB`);
  }
  const times: number[] = [];
  for (let i = 1; i <= randomPages; i += 1) {
    const from = Math.floor(Math.random() * (records - 50));
    const [page, ms] = await timed(() => deadLetters.page(topic, { partition: 0, from, limit: 50 }));
    if (page.entries.length !== 50 || page.entries[0]?.offset !== from) throw new Error(`page at ${from} started at ${page.entries[0]?.offset}`);
    times.push(ms);
    if (i % 200 === 0) console.log(`after ${i} random pages: RSS ${rssMiB()} MiB, heap used ${heapMiB()} MiB`);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(0);
  console.log(`${randomPages} random pages: median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`);
  console.log(`reader RSS: ${rssBefore} MiB before the first read, ${rssMiB()} MiB after ${randomPages + 3} pages`);
  await deadLetters.close();
  const kafka = new Kafka({ brokers, clientId: 'bench-dlq-clean', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
}

await (values.fill ? fill() : measure());
