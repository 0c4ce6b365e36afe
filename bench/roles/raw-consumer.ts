/** The raw kafkajs consumer baseline: a plain `eachBatch` loop over the same topic. */
import { Kafka, logLevel } from 'kafkajs';
import { now, summarize, throughput, waitUntil } from '../support/stats.ts';
import type { WorkerResult, WorkerSpec } from './partita-worker.ts';

export interface RawConsumerSpec extends WorkerSpec {
  /** Parse each value as JSON (always done in latency mode, to read the enqueue time). */
  parse: boolean;
  /**
   * `auto`: kafkajs's default, a commit after every batch inside the fetch loop.
   * `interval`: autoCommit off; the resolved offsets are committed every 250 ms from a timer,
   * outside the fetch loop (as Partita's committer does).
   */
  commit: 'auto' | 'interval';
}

const COMMIT_INTERVAL_MS = 250;

export async function rawConsumer(spec: RawConsumerSpec, ready: () => void): Promise<WorkerResult> {
  const kafka = new Kafka({ brokers: spec.brokers, clientId: 'bench-raw-consumer', logLevel: logLevel.NOTHING });
  // Fetch settings as Partita's consumer uses them.
  const consumer = kafka.consumer({ groupId: spec.groupId, maxBytesPerPartition: 1_048_576, maxWaitTimeInMs: 500 });
  const latencies: number[] = [];
  const positions = new Map<number, string>();
  let startedAt = 0;
  let lastAt = 0;
  let consumed = 0;
  const commit = () => {
    const offsets = [...positions].map(([partition, offset]) => ({ topic: spec.topic, partition, offset }));
    positions.clear();
    return offsets.length > 0 ? consumer.commitOffsets(offsets).catch(() => {}) : Promise.resolve();
  };
  const joined = new Promise<void>((resolve) =>
    consumer.on(consumer.events.GROUP_JOIN, () => {
      startedAt ||= now();
      resolve();
    }),
  );
  await consumer.connect();
  await consumer.subscribe({ topics: [spec.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: spec.commit === 'auto',
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        if (spec.parse || spec.work === 'latency') {
          const [n, sentAt] = JSON.parse(message.value!.toString('utf8')).json.arguments as [number, number];
          if (spec.work === 'latency' && n >= spec.latencyFrom) latencies.push(now() - sentAt);
        }
        consumed += 1;
        if (consumed === spec.expected) lastAt = now();
      }
      positions.set(batch.partition, String(Number(batch.lastOffset()) + 1));
    },
  });
  const committer = spec.commit === 'interval' ? setInterval(() => void commit(), COMMIT_INTERVAL_MS) : undefined;
  await joined;
  ready();
  const finished = await waitUntil(() => consumed >= spec.expected, Date.now() + spec.deadlineMs);
  const end = finished ? lastAt : now();
  clearInterval(committer);
  if (spec.commit === 'interval') await commit();
  await consumer.disconnect();
  return { finished, startedAt, lastAt: end, ...throughput(finished ? spec.expected : consumed, startedAt, end), errors: 0, ...(spec.work === 'latency' ? { latency: summarize(latencies) } : {}) };
}
