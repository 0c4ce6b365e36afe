// R1 worker, run with `partita worker`: one FanOut job on $TOPIC enqueues $CHILDREN Child jobs
// (default produceAsync) to $CHILD_TOPIC, which nobody consumes.
import { createApp } from '../../lib/app.ts';
import { Job } from '../../lib/job/job.ts';

const { TOPIC, CHILD_TOPIC, GROUP, CHILDREN = '20000', KAFKA_BROKERS = '127.0.0.1:9092' } = process.env;
if (!TOPIC || !CHILD_TOPIC || !GROUP) throw new Error('fan-out-worker needs TOPIC, CHILD_TOPIC and GROUP');

export class Child extends Job<[n: number]> {
  static override options = { topic: CHILD_TOPIC };
  perform() {}
}

export class FanOut extends Job<[]> {
  async perform() {
    for (let n = 0; n < Number(CHILDREN); n += 1) await Child.performLater(n);
    process.stdout.write('fanned out\n');
  }
}

export default createApp({
  clientId: 'fan-out-worker',
  groupId: GROUP,
  kafka: { brokers: KAFKA_BROKERS.split(','), logLevel: 'nothing' },
  jobs: [FanOut],
  commitIntervalMs: 50,
  consumer: { maxWaitTimeInMs: 100 },
}).routes((r) => r.activeJobTopic(TOPIC));
