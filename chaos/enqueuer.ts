// The enqueuer of the fault suite, a child process: `CALLERS` concurrent callers enqueue ChaosJob
// with produceSync, `RATE` jobs a second in all, seq numbers FROM .. FROM+JOBS-1, key `k<seq % KEYS>`.
// Caller c owns the keys with seq % CALLERS === c, so each key is enqueued in seq order. Every job
// whose produceSync resolved is appended at once (synchronously) to $ACCEPTED_FILE as
// `<job id> <key> <seq>`; a rejected call is retried as a new job with the same seq and counted
// on stdout (the first three with their error). Exits 0 when every job was accepted.
import { appendFileSync } from 'node:fs';
import { closeDispatcher, configure } from '../lib/index.ts';
import { chaosJob } from './jobs.ts';

const { TOPIC, ACCEPTED_FILE, KAFKA_BROKERS, FROM = '0', JOBS = '1000', KEYS = '200', RATE = '1000', CALLERS = '8' } = process.env;
if (!TOPIC || !ACCEPTED_FILE || !KAFKA_BROKERS) throw new Error('chaos/enqueuer.ts needs TOPIC, ACCEPTED_FILE and KAFKA_BROKERS');

await configure({ kafka: { brokers: KAFKA_BROKERS.split(','), clientId: 'chaos-enqueuer', logLevel: 'nothing' }, handleSignals: false });
const SyncJob = chaosJob(TOPIC).set({ dispatchMethod: 'produceSync' });
const from = Number(FROM);
const end = from + Number(JOBS);
const callers = Number(CALLERS);
const keys = Number(KEYS);
const gapMs = (1000 * callers) / Number(RATE);
const started = Date.now();
let rejected = 0;

async function caller(c: number): Promise<void> {
  for (let seq = from + c, sent = 0; seq < end; seq += callers, sent += 1) {
    const due = started + sent * gapMs;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    const key = `k${seq % keys}`;
    for (;;) {
      try {
        const enqueued = await SyncJob.performLater(key, seq);
        appendFileSync(ACCEPTED_FILE!, `${enqueued.jobId} ${key} ${seq}\n`);
        break;
      } catch (error) {
        rejected += 1;
        if (rejected <= 3) process.stdout.write(`  enqueuer: seq ${seq} rejected (${(error as Error).message}); enqueuing it again\n`);
      }
    }
  }
}

await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
await closeDispatcher();
process.stdout.write(`  enqueuer: ${end - from} jobs accepted, ${rejected} calls rejected and repeated\n`);
