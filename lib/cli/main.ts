import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from '../app.ts';
import { startLocalBroker } from '../kafka/local-broker.ts';
import { DLQ_USAGE, runDlq } from './dlq.ts';
import { superviseWorkers } from './supervisor.ts';

const USAGE = `usage:
  partita worker <file.ts> [--processes N]
                               run the app that <file.ts> exports (default export or "app");
                               with --processes, N supervised worker processes
  partita kafka start|stop     start or stop the local development broker (infra/kafka)
${DLQ_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'worker':
      return runWorker(rest);
    case 'kafka':
      return runKafka(rest);
    case 'dlq':
      return runDlq(rest, (line) => process.stdout.write(`${line}\n`));
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
  }
}

async function runWorker(args: string[]): Promise<number> {
  const file = args[0];
  if (!file) {
    process.stderr.write(`partita worker: missing the worker file\n${USAGE}\n`);
    return 2;
  }
  if (args[1] === '--processes') {
    const processes = Number(args[2]);
    if (!Number.isInteger(processes) || processes < 1) {
      process.stderr.write(`partita worker: --processes expects a whole number >= 1, got ${JSON.stringify(args[2])}\n`);
      return 2;
    }
    return superviseWorkers(file, processes, (line) => process.stdout.write(`${line}\n`));
  }
  const module = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown; app?: unknown };
  const app = module.default ?? module.app;
  if (!(app instanceof App)) {
    process.stderr.write(`partita worker: ${file} must export an app made with createApp() (as default or as "app")\n`);
    return 2;
  }
  app.config.handleSignals = true;
  await app.run();
  return -1;
}

async function runKafka(args: string[]): Promise<number> {
  if (args[0] === 'start') {
    const broker = await startLocalBroker();
    process.stdout.write(`kafka: ${broker.brokers.join(',')}${broker.started ? ' (started)' : ' (already running)'}\n`);
    return 0;
  }
  if (args[0] === 'stop') {
    const { spawnSync } = await import('node:child_process');
    const script = new URL('../../infra/kafka/stop.sh', import.meta.url);
    return spawnSync('bash', [script.pathname], { stdio: 'inherit' }).status ?? 1;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`partita: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
