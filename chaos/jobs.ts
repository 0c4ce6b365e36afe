/** The job of the fault suite: `[key, seq]`, keyed by `key`, sleeping `jobMs` when performed. */
import { Job } from '../lib/index.ts';

/** A job class named `ChaosJob` for `topic` (enqueued in bulk with produceManySync); jobs of one key run in order of `seq`. */
export function chaosJob(topic: string, jobMs = 0) {
  return class ChaosJob extends Job<[key: string, seq: number]> {
    static override jobName = 'ChaosJob';
    static override options = { topic, dispatchManyMethod: 'produceManySync' as const, partitioner: (job: Job<any[]>) => String(job.arguments[0]) };
    async perform(): Promise<void> {
      if (jobMs > 0) await new Promise((resolve) => setTimeout(resolve, jobMs));
    }
  };
}
