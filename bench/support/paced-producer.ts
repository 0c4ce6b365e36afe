/**
 * Enqueues jobs at a steady rate, each carrying its enqueue time, through Partita or raw kafkajs.
 * Runs in the bench's own process (otherwise idle while a latency worker runs in its child).
 */
import { Kafka, logLevel } from 'kafkajs';
import { closeDispatcher, configure } from '../../lib/index.ts';
import { benchJob, rawJobMessage } from '../jobs.ts';
import { filler } from './payload.ts';
import { now, sleep, throughput, type Throughput } from './stats.ts';

export interface PacedProducerSpec {
  brokers: string[];
  topic: string;
  keys: number;
  payloadChars: number;
  /** Jobs per second. */
  rate: number;
  total: number;
  /** `partita`: `performLater` (produceAsync, the default). `raw`: kafkajs `sendBatch` of what is due, one request at a time. */
  kind: 'partita' | 'raw';
}

export async function pacedProducer(spec: PacedProducerSpec): Promise<Throughput> {
  const BenchJob = benchJob(spec.topic, spec.keys);
  const text = filler(spec.payloadChars);
  let send: (from: number, to: number) => Promise<unknown>;
  let close: () => Promise<void>;
  if (spec.kind === 'partita') {
    const dispatcher = await configure({ kafka: { brokers: spec.brokers, clientId: 'bench-paced', logLevel: 'nothing' }, handleSignals: false });
    send = (from, to) => Promise.all(Array.from({ length: to - from }, (_, i) => BenchJob.performLater(from + i, now(), text)));
    close = async () => {
      await dispatcher.flush();
      await closeDispatcher();
    };
  } else {
    const producer = new Kafka({ brokers: spec.brokers, clientId: 'bench-paced-raw', logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    send = (from, to) => {
      const messages = Array.from({ length: to - from }, (_, i) => rawJobMessage(BenchJob, spec.keys, [from + i, now(), text]));
      return producer.sendBatch({ acks: -1, topicMessages: [{ topic: spec.topic, messages }] });
    };
    close = () => producer.disconnect();
  }
  const started = now();
  let sent = 0;
  while (sent < spec.total) {
    const due = Math.min(spec.total, Math.floor(((now() - started) * spec.rate) / 1000));
    if (due > sent) {
      await send(sent, due);
      sent = due;
    } else {
      await sleep(1);
    }
  }
  const measured = throughput(sent, started, now());
  await close();
  return measured;
}
