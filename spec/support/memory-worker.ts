// A worker file for the memory spec, run with `partita worker`: no-op jobs, and a line on stdout
// every 200 ms with the jobs performed so far and the process's resident and heap memory.
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
setInterval(() => {
  const { rss, heapUsed } = process.memoryUsage();
  process.stdout.write(`progress ${performed} ${rss} ${heapUsed}\n`);
}, 200).unref();

export default app;
