// Enqueuing scripts for the enqueue-guarantee specs (E2, E3, SIGTERM), run as child processes:
//   lost <count>          brokers unreachable, small deliveryTimeoutMs: closeDispatcher() must reject
//   forget <topic> <n>    enqueues n jobs and never calls closeDispatcher(): must exit by itself
//   host <topic> <n>      the app has its own SIGTERM handler, which exits with status 3 after 3 s
//   loop <topic> <n>      a tight `for … await performLater` loop; prints its accepted count at exit
import { writeSync } from 'node:fs';
import { closeDispatcher, configure } from '../../lib/dispatch/default-dispatcher.ts';
import { JobsLostError } from '../../lib/errors.ts';
import { Job } from '../../lib/job/job.ts';

const [mode, topic = 'unused', count = '1'] = process.argv.slice(2) as [string, string?, string?];
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const say = (line: string) => writeSync(1, `${line}\n`);

class Scripted extends Job<[n: number]> {
  static override options = { topic };
  perform() {}
}

if (mode === 'lost') {
  await configure({ kafka: { brokers, logLevel: 'nothing' }, dispatch: { deliveryTimeoutMs: 1500 } });
  for (let n = 0; n < Number(count); n += 1) say(`accepted ${(await Scripted.performLater(n)).jobId}`);
  try {
    await closeDispatcher();
    say('closed');
  } catch (error) {
    const lost = error instanceof JobsLostError ? error.lost.map((m) => m.jobId).join(',') : '';
    say(`rejected ${(error as Error).name} ${lost}`);
  }
} else if (mode === 'forget') {
  await configure({ kafka: { brokers, logLevel: 'nothing' } });
  for (let n = 0; n < Number(count); n += 1) await Scripted.performLater(n);
  say('enqueued');
} else if (mode === 'host') {
  const dispatcher = await configure({ kafka: { brokers, logLevel: 'nothing' }, dispatch: { lingerMs: 600_000, batchSize: 100_000 } });
  process.on('SIGTERM', () => {
    setTimeout(() => {
      say(`host exits, buffered ${dispatcher.buffered}`);
      process.exit(3);
    }, 3000);
  });
  await Promise.all(Array.from({ length: Number(count) }, (_, n) => Scripted.performLater(n)));
  say(`buffered ${dispatcher.buffered}`);
  setInterval(() => {}, 1000);
} else if (mode === 'loop') {
  await configure({ kafka: { brokers, logLevel: 'nothing' }, dispatch: { maxBufferedMessages: 5000 } });
  let accepted = 0;
  process.on('exit', () => say(`accepted ${accepted}`));
  for (let n = 0; n < Number(count); n += 1) {
    await Scripted.performLater(n);
    accepted += 1;
    if (accepted === 5000) say('progress');
  }
  say('loop finished');
} else {
  throw new Error(`unknown mode ${mode}`);
}
