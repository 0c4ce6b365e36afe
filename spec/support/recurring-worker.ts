// A worker file for the recurring-jobs spec, run with `partita worker`: one schedule ticking every
// second that enqueues a Tick job to $TOPIC. It writes one JSON line to stdout per ticker event:
// {"pid":..,"e":"owned"|"released"|"enqueued","tick"?:ms,"at":ms}.
import { createApp } from '../../lib/app.ts';
import { Job } from '../../lib/job/job.ts';

const { TOPIC, GROUP, KAFKA_BROKERS = '127.0.0.1:9092' } = process.env;
if (!TOPIC || !GROUP) throw new Error('recurring-worker needs TOPIC and GROUP');

class Tick extends Job<[label: string]> {
  static override options = { topic: TOPIC };
  async perform(): Promise<void> {}
}

const line = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ pid: process.pid, at: Date.now(), ...fields })}\n`);

export const app = createApp({
  clientId: 'recurring-worker',
  groupId: GROUP,
  kafka: { brokers: KAFKA_BROKERS.split(','), logLevel: 'nothing' },
  consumer: { sessionTimeout: 3000, rebalanceTimeout: 6000, heartbeatInterval: 500 },
}).routes((r) => r.recurring('every-second', '* * * * * *', Tick, ['spec']));

app.on('recurring.owned', () => line({ e: 'owned' }));
app.on('recurring.released', () => line({ e: 'released' }));
app.on('recurring.enqueued', ({ tick }) => line({ e: 'enqueued', tick: tick.getTime() }));

export default app;
