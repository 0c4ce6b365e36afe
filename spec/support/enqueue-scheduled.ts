// Scheduling spec helper: an application process that enqueues `count` Timed jobs on `topic` with
// random waits below `maxWait` ms, 100 at a time, then prints their ids as JSON and exits.
import { closeDispatcher, configure } from '../../lib/dispatch/default-dispatcher.ts';
import { Job } from '../../lib/job/job.ts';

const [topic, count, maxWait] = process.argv.slice(2).map((arg, i) => (i === 0 ? arg : Number(arg))) as [string, number, number];

class Timed extends Job<[n: number]> {
  static override options = { topic, partitioner: (job: Job<any[]>) => `key-${(job.arguments[0] as number) % 40}` };
  perform() {}
}

const dispatcher = await configure({ kafka: { brokers: process.env.KAFKA_BROKERS!.split(','), logLevel: 'nothing' } });
const ids: string[] = [];
for (let start = 0; start < count; start += 100) {
  const round = Array.from({ length: Math.min(100, count - start) }, (_, i) => Timed.set({ wait: Math.floor(Math.random() * maxWait) }).performLater(start + i));
  ids.push(...(await Promise.all(round)).map((enqueued) => enqueued.jobId));
  await dispatcher.flush();
}
await closeDispatcher();
process.stdout.write(`${JSON.stringify(ids)}\n`);
