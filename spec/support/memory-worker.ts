// A worker file for the memory spec, run with `partita worker` under `node --expose-gc`: no-op jobs,
// and a line on stdout every 500 ms with the jobs performed so far, the resident memory, and the
// heap right after a full collection (what the worker really holds, not garbage awaiting GC).
import { createApp } from '../../lib/app.ts';
import { Job } from '../../lib/job/job.ts';

const { TOPIC, GROUP, KAFKA_BROKERS = '127.0.0.1:9092' } = process.env;
if (!TOPIC || !GROUP) throw new Error('memory-worker needs TOPIC and GROUP');

export class Noop extends Job<[n: number]> {
  perform() {}
}

let performed = 0;
export const app = createApp({
  clientId: 'memory-worker',
  groupId: GROUP,
  kafka: { brokers: KAFKA_BROKERS.split(','), logLevel: 'nothing' },
  jobs: [Noop],
}).routes((r) => r.activeJobTopic(TOPIC, (t) => t.virtualPartitions({ partitioner: (m) => m.headers['job-key'], maxPartitions: 8 })));

app.on('job.performed', () => (performed += 1));
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('memory-worker needs node --expose-gc');
setInterval(() => {
  collect();
  const { rss, heapUsed } = process.memoryUsage();
  process.stdout.write(`progress ${performed} ${rss} ${heapUsed}\n`);
}, 500).unref();

export default app;
