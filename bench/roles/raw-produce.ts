/** The raw kafkajs producer baseline: the same messages, built before the clock starts. */
import { Kafka, logLevel, type Message } from 'kafkajs';
import { benchJob, rawJobMessage } from '../jobs.ts';
import { filler } from '../support/payload.ts';
import { now, throughput, type Throughput } from '../support/stats.ts';

export interface RawProduceSpec {
  brokers: string[];
  topic: string;
  keys: number;
  payloadChars: number;
  jobs: number;
  /**
   * `batch`: `sendBatch` of `chunk` messages, one request at a time (idempotent, acks=all, as Partita's producer).
   * `send`: `send` of one message each from `inFlight` concurrent callers (plain producer, acks=all).
   */
  mode: 'batch' | 'send';
  chunk: number;
  inFlight: number;
}

const WARMUP_MESSAGES = 200;

export async function rawProduce(spec: RawProduceSpec): Promise<Throughput> {
  const kafka = new Kafka({ brokers: spec.brokers, clientId: 'bench-raw-produce', logLevel: logLevel.NOTHING });
  const producer = spec.mode === 'batch' ? kafka.producer({ idempotent: true, maxInFlightRequests: 1 }) : kafka.producer();
  const BenchJob = benchJob(spec.topic, spec.keys);
  const text = filler(spec.payloadChars);
  const messages = Array.from({ length: WARMUP_MESSAGES + spec.jobs }, (_, n) => rawJobMessage(BenchJob, spec.keys, [n, 0, text]));
  const produce = async (list: Message[]): Promise<void> => {
    if (spec.mode === 'batch') {
      for (let i = 0; i < list.length; i += spec.chunk) {
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic: spec.topic, messages: list.slice(i, i + spec.chunk) }] });
      }
    } else {
      let next = 0;
      const caller = async () => {
        while (next < list.length) await producer.send({ acks: -1, topic: spec.topic, messages: [list[next++]!] });
      };
      await Promise.all(Array.from({ length: spec.inFlight }, caller));
    }
  };
  await producer.connect();
  await produce(messages.slice(0, WARMUP_MESSAGES));
  const started = now();
  await produce(messages.slice(WARMUP_MESSAGES));
  const measured = throughput(spec.jobs, started, now());
  await producer.disconnect();
  return measured;
}
