// Scheduling spec helper: a worker process for a job topic, killed with SIGKILL by the spec. It
// prints "ready" once it consumes, and "ran <jobId> <startedAt> <scheduledAt>" for every job run.
import { createApp } from '../../lib/app.ts';
import { Job } from '../../lib/job/job.ts';

const [topic, groupId] = process.argv.slice(2) as [string, string];

class Timed extends Job<[n: number]> {
  perform() {
    process.stdout.write(`ran ${this.jobId} ${Date.now()} ${this.scheduledAt!.getTime()}\n`);
  }
}

const app = createApp({
  clientId: groupId,
  groupId,
  kafka: { brokers: process.env.KAFKA_BROKERS!.split(','), logLevel: 'nothing' },
  jobs: [Timed],
  commitIntervalMs: 50,
  consumer: { maxWaitTimeInMs: 100, sessionTimeout: 6_000, rebalanceTimeout: 10_000, heartbeatInterval: 500 },
}).routes((r) => r.activeJobTopic(topic));
await app.run();
process.stdout.write('ready\n');
