// A worker file for multi-process specs, run with `partita worker`. It appends one NDJSON line per
// event to $EVENTS_FILE: job started/performed (with offsets), commits, revocations, lifecycle,
// finished offsets inherited from a previous owner's done-map.
import { appendFileSync } from 'node:fs';
import { createApp } from '../../lib/app.ts';
import { Job } from '../../lib/job/job.ts';

const { TOPIC, GROUP, EVENTS_FILE, JOB_MS = '1', KAFKA_BROKERS = '127.0.0.1:9092' } = process.env;
if (!TOPIC || !GROUP || !EVENTS_FILE) throw new Error('recording-worker needs TOPIC, GROUP and EVENTS_FILE');

const write = (event: Record<string, unknown>) => appendFileSync(EVENTS_FILE, `${JSON.stringify({ pid: process.pid, at: Date.now(), ...event })}\n`);

export class Recorded extends Job<[key: string, seq: number]> {
  async perform() {
    await new Promise((resolve) => setTimeout(resolve, Number(JOB_MS)));
  }
}

export const app = createApp({
  clientId: 'recording-worker',
  groupId: GROUP,
  kafka: { brokers: KAFKA_BROKERS.split(','), logLevel: 'nothing' },
  jobs: [Recorded],
  commitIntervalMs: 50,
  shutdownTimeoutMs: 10_000,
  consumer: { sessionTimeout: 10_000, rebalanceTimeout: 20_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 },
}).routes((r) => r.activeJobTopic(TOPIC, (t) => t.virtualPartitions({ partitioner: (m) => m.headers['job-key'], maxPartitions: 8 })));

app.on('worker.started', () => write({ e: 'up' }));
app.on('worker.stopped', ({ unfinished }) => write({ e: 'down', unfinished }));
app.on('job.started', (e) => write({ e: 'start', p: e.partition, o: e.offset, id: e.jobId }));
app.on('job.performed', (e) => write({ e: 'done', p: e.partition, o: e.offset, id: e.jobId }));
// Partitions of $TOPIC only (the worker also consumes the job topic's delay tiers).
app.on('batch.committed', (e) => {
  const offsets = e.offsets.filter((c) => c.topic === TOPIC).map((c) => [c.partition, c.offset]);
  if (offsets.length > 0) write({ e: 'commit', offsets });
});
app.on('partition.revoked', (e) => e.topic === TOPIC && write({ e: 'revoked', p: e.partition }));
app.on('partition.assigned', (e) => e.topic === TOPIC && write({ e: 'assigned', p: e.partition }));
app.on('partition.inherited', (e) => write({ e: 'inherited', p: e.partition, o: e.offset, n: e.finished }));

export default app;
