// The enqueuer of the fault suite, a child process: `CALLERS` concurrent callers enqueue ChaosJob
// with produceManySync (`Job.performAllLater`, `CHUNK` jobs a call), `RATE` jobs a second in all,
// seq numbers FROM .. FROM+JOBS-1, key `k<seq % KEYS>`. Caller c owns the seqs with
// seq % CALLERS === c, so each key is enqueued by one caller, in seq order. The jobs of a call
// whose produce resolved are appended at once (synchronously) to $ACCEPTED_FILE as
// `<job id> <key> <seq>`; a rejected call is made again with new jobs of the same seqs, and counted
// on stdout (the first three with their error). Exits 0 when every job was accepted.
import { appendFileSync } from 'node:fs';
import { closeDispatcher, configure, Job } from '../lib/index.ts';
import { chaosJob } from './jobs.ts';

const { TOPIC, ACCEPTED_FILE, KAFKA_BROKERS, FROM = '0', JOBS = '1000', KEYS = '200', RATE = '1000', CALLERS = '8', CHUNK = '25' } = process.env;
if (!TOPIC || !ACCEPTED_FILE || !KAFKA_BROKERS) throw new Error('chaos/enqueuer.ts needs TOPIC, ACCEPTED_FILE and KAFKA_BROKERS');

await configure({ kafka: { brokers: KAFKA_BROKERS.split(','), clientId: 'chaos-enqueuer', logLevel: 'nothing' }, handleSignals: false });
const ChaosJob = chaosJob(TOPIC);
const from = Number(FROM);
const end = from + Number(JOBS);
const callers = Number(CALLERS);
const chunk = Number(CHUNK);
const keys = Number(KEYS);
const started = Date.now();
let rejected = 0;

async function caller(c: number): Promise<void> {
  let sent = 0;
  for (let first = from + c; first < end; first += callers * chunk) {
    const due = started + (sent * 1000) / (Number(RATE) / callers);
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    const seqs = Array.from({ length: chunk }, (_, n) => first + n * callers).filter((seq) => seq < end);
    sent += seqs.length;
    for (;;) {
      const jobs = seqs.map((seq) => new ChaosJob(`k${seq % keys}`, seq));
      try {
        const enqueued = await Job.performAllLater(jobs);
        appendFileSync(ACCEPTED_FILE!, enqueued.map((job, n) => `${job.jobId} k${seqs[n]! % keys} ${seqs[n]}\n`).join(''));
        break;
      } catch (error) {
        rejected += 1;
        if (rejected <= 3) process.stdout.write(`  enqueuer: seqs ${seqs[0]}.. rejected (${(error as Error).message}); enqueuing them again\n`);
      }
    }
  }
}

await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
await closeDispatcher();
process.stdout.write(`  enqueuer: ${end - from} jobs accepted, ${rejected} calls rejected and repeated\n`);
