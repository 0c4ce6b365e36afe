// A worker file for the logging specs, run with `partita worker`: jobs that throw once, always, or
// run slowly (announced on stdout), on $TOPIC with a dead-letter topic and one retry.
import { createApp } from '../../lib/app.ts';
import { Job } from '../../lib/job/job.ts';

const { TOPIC, GROUP, KAFKA_BROKERS = '127.0.0.1:9092' } = process.env;
if (!TOPIC || !GROUP) throw new Error('logging-worker needs TOPIC and GROUP');

export class ThrowsOnce extends Job<[]> {
  perform() {
    if (this.executions === 1) throw new Error(`first try of ${this.jobId} fails`);
  }
}

export class AlwaysThrows extends Job<[]> {
  perform() {
    throw new RangeError(`${this.jobId} can never work`);
  }
}

export class Slow extends Job<[ms: number]> {
  async perform(ms: number) {
    process.stdout.write(`started ${this.jobId}\n`);
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

export const app = createApp({
  clientId: 'logging-worker',
  groupId: GROUP,
  kafka: { brokers: KAFKA_BROKERS.split(',') },
  jobs: [ThrowsOnce, AlwaysThrows, Slow],
  backoff: { timeout: 100, maxTimeout: 200 },
  commitIntervalMs: 50,
  shutdownTimeoutMs: 10_000,
  consumer: { sessionTimeout: 10_000, rebalanceTimeout: 20_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 },
}).routes((r) => r.activeJobTopic(TOPIC, (t) => t.delayTiers(false).deadLetterQueue({ topic: `${TOPIC}.dlq`, maxRetries: 1 })));

export default app;
