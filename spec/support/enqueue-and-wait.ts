// J2 helper script: enqueues N async jobs, says how many are still buffered, then idles until a
// signal arrives. The dispatcher's signal hook must deliver the buffer before the process exits.
import { configure } from '../../lib/dispatch/default-dispatcher.ts';
import { Job } from '../../lib/job/job.ts';

const [topic, count] = process.argv.slice(2) as [string, string];
const dispatcher = await configure({ kafka: { brokers: process.env.KAFKA_BROKERS!.split(','), logLevel: 'nothing' }, dispatch: { lingerMs: 60_000, batchSize: 100_000 } });

class Buffered extends Job<[n: number]> {
  static override options = { topic };
  perform() {}
}

await Promise.all(Array.from({ length: Number(count) }, (_, n) => Buffered.performLater(n)));
process.stdout.write(`buffered ${dispatcher.buffered}\n`);
setInterval(() => {}, 1000);
