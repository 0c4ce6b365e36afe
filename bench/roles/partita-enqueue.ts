/** Enqueues jobs through Partita's public API and times it until every job was acknowledged. */
import { closeDispatcher, configure, Job } from '../../lib/index.ts';
import { benchJob } from '../jobs.ts';
import { filler } from '../support/payload.ts';
import { now, throughput, type Throughput } from '../support/stats.ts';

export interface PartitaEnqueueSpec {
  brokers: string[];
  topic: string;
  keys: number;
  payloadChars: number;
  jobs: number;
  /** `async`: performLater with produceAsync, awaited one by one. `sync`: produceSync, `inFlight` callers. `all`: performAllLater in chunks. */
  mode: 'async' | 'sync' | 'all';
  inFlight: number;
  chunk: number;
}

const WARMUP_JOBS = 200;

export async function partitaEnqueue(spec: PartitaEnqueueSpec): Promise<Throughput> {
  const dispatcher = await configure({ kafka: { brokers: spec.brokers, clientId: 'bench-enqueue', logLevel: 'nothing' }, handleSignals: false });
  const BenchJob = benchJob(spec.topic, spec.keys);
  const text = filler(spec.payloadChars);
  const enqueue = async (from: number, count: number): Promise<void> => {
    if (spec.mode === 'async') {
      for (let n = from; n < from + count; n += 1) await BenchJob.performLater(n, 0, text);
    } else if (spec.mode === 'sync') {
      const synced = BenchJob.set({ dispatchMethod: 'produceSync' });
      let next = from;
      const caller = async () => {
        while (next < from + count) await synced.performLater(next++, 0, text);
      };
      await Promise.all(Array.from({ length: spec.inFlight }, caller));
    } else {
      for (let n = from; n < from + count; n += spec.chunk) {
        const size = Math.min(spec.chunk, from + count - n);
        await Job.performAllLater(Array.from({ length: size }, (_, i) => new BenchJob(n + i, 0, text)));
      }
    }
    await dispatcher.flush();
  };
  // Connects the producer and warms the code paths up; not timed.
  await enqueue(0, WARMUP_JOBS);
  const started = now();
  await enqueue(WARMUP_JOBS, spec.jobs);
  const measured = throughput(spec.jobs, started, now());
  await closeDispatcher();
  return measured;
}
