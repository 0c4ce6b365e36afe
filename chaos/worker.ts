// The worker of the fault suite, run with `partita worker chaos/worker.ts`. It appends one NDJSON
// line per event to $EVENTS_FILE: job started and performed (partition, offset, job id), commits
// (acknowledged positions), assignments, revocations and its own start and stop.
import { appendFileSync } from 'node:fs';
import { createApp } from '../lib/index.ts';
import { chaosJob } from './jobs.ts';

const { TOPIC, GROUP, EVENTS_FILE, JOB_MS = '2', KAFKA_BROKERS } = process.env;
if (!TOPIC || !GROUP || !EVENTS_FILE || !KAFKA_BROKERS) throw new Error('chaos/worker.ts needs TOPIC, GROUP, EVENTS_FILE and KAFKA_BROKERS');

const write = (event: Record<string, unknown>) => appendFileSync(EVENTS_FILE, `${JSON.stringify({ pid: process.pid, at: Date.now(), ...event })}\n`);

export const app = createApp({
  clientId: 'chaos-worker',
  groupId: GROUP,
  kafka: { brokers: KAFKA_BROKERS.split(','), logLevel: 'nothing' },
  jobs: [chaosJob(TOPIC, Number(JOB_MS))],
  commitIntervalMs: 100,
  shutdownTimeoutMs: 10_000,
  consumer: { sessionTimeout: 10_000, rebalanceTimeout: 20_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 },
}).routes((r) => r.activeJobTopic(TOPIC, (t) => t.virtualPartitions({ partitioner: (m) => m.headers['job-key'], maxPartitions: 8 })));

app.on('worker.started', () => write({ e: 'up' }));
app.on('worker.stopped', ({ unfinished }) => write({ e: 'down', unfinished }));
// Only the job topic's partitions: the route also consumes its (here empty) delay-tier topics.
app.on('job.started', (e) => e.topic === TOPIC && write({ e: 'start', p: e.partition, o: e.offset, id: e.jobId }));
app.on('job.performed', (e) => e.topic === TOPIC && write({ e: 'done', p: e.partition, o: e.offset, id: e.jobId }));
app.on('batch.committed', (e) => {
  const offsets = e.offsets.filter((c) => c.topic === TOPIC).map((c) => [c.partition, c.offset]);
  if (offsets.length > 0) write({ e: 'commit', offsets });
});
app.on('partition.assigned', (e) => e.topic === TOPIC && write({ e: 'assigned', p: e.partition }));
app.on('partition.revoked', (e) => e.topic === TOPIC && write({ e: 'revoked', p: e.partition }));
app.on('error', (e) => write({ e: 'error', message: e.error.message, kind: e.kind }));

export default app;
