import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.ts';
import { parseCommand, refuseExtraArguments } from './args.ts';
import { importWorkerFile, resolveWorkerFile } from './load-worker-file.ts';

const USAGE = `usage: partita <command> [options]

commands:
  worker <file>               run the app a worker file exports
  kafka start|stop            start or stop the local development broker
  dlq list|show|replay        read a dead-letter topic, send dead letters back (each once)
  status                      groups and lag, worker processes, running jobs, dead letters, scheduled jobs
  config [<file>]             every option with its default (or the values a worker file's app resolved)
  web                         serve Partita Web, the operations UI, on 127.0.0.1:9290

options:
  -h, --help                  show help (every command and subcommand has one)
  -v, --version               print partita's version

Run \`partita <command> --help\` for a command's options.`;

const WORKER_USAGE = `usage: partita worker <file> [options]

Runs the app <file> exports (as default or as "app"), made with createApp(). A TypeScript file
runs through the app's tsx when it is installed, else through Node's own type stripping.
SIGINT/SIGTERM stop it gracefully; a second one exits at once.

options:
  -p, --processes <n>         run n supervised worker processes (restarted when they die)
  --log-level <level>         fatal, error, warn, info, debug, trace or silent
                              (sets PARTITA_LOG_LEVEL for the worker; default info)
  -h, --help                  show this help`;

const KAFKA_USAGE = `usage: partita kafka <start|stop>

subcommands:
  start                       start a single-node broker on 127.0.0.1:$KAFKA_PORT (default 9092)
                              unless one answers there or KAFKA_BROKERS is set; needs java and mvn
  stop                        stop the broker that start started

options:
  -h, --help                  show this help`;

const KAFKA_START_USAGE = `usage: partita kafka start

Starts the local development broker (Kafka in KRaft mode, jars from Maven Central) from the
package's infra/kafka scripts, on 127.0.0.1:$KAFKA_PORT (default 9092, controller
$KAFKA_CONTROLLER_PORT, default 9093). Nothing starts when KAFKA_BROKERS is set or a broker already
answers. Needs java 17 and mvn.`;

const KAFKA_STOP_USAGE = `usage: partita kafka stop

Stops the local development broker on 127.0.0.1:$KAFKA_PORT (default 9092) that \`partita kafka start\` started.`;

/**
 * Runs `partita <argv...>`: resolves with the exit status, or -1 when the command keeps running
 * (a worker) and exits on its own. Commands import what they need (kafkajs, the app) when they
 * run, so help, version and usage errors answer at once.
 */
export async function runCli(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'worker':
      return runWorker(rest, out);
    case 'kafka':
      return runKafka(rest, out);
    case 'config': {
      const { runConfig } = await import('./config.ts');
      return runConfig(rest, out);
    }
    case 'status': {
      const { runStatus } = await import('./status.ts');
      return runStatus(rest, out);
    }
    case 'dlq': {
      const { runDlq } = await import('./dlq.ts');
      return runDlq(rest, out);
    }
    case 'web': {
      const { runWeb } = await import('./web.ts');
      return runWeb(rest, out);
    }
    default: {
      const { values, positionals } = parseCommand('', argv, { version: { type: 'boolean', short: 'v' } });
      if (values.version) out(readVersion());
      else if (values.help || argv.length === 0) out(USAGE);
      else throw new UsageError('', `unknown command ${JSON.stringify(positionals[0])}: expected worker, kafka, dlq, config or web`);
      return 0;
    }
  }
}

async function runWorker(args: readonly string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommand('worker', args, {
    processes: { type: 'string', short: 'p' },
    'log-level': { type: 'string' },
  });
  if (values.help) {
    out(WORKER_USAGE);
    return 0;
  }
  const [file] = positionals;
  if (file === undefined) throw new UsageError('worker', 'missing the worker file');
  refuseExtraArguments('worker', positionals, 1);
  const level = values['log-level'];
  if (level !== undefined) {
    const { LOG_LEVELS } = await import('../index.ts');
    if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError('worker', `--log-level expects one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
    process.env.PARTITA_LOG_LEVEL = level;
  }
  if (values.processes !== undefined) {
    const processes = Number(values.processes);
    if (!Number.isInteger(processes) || processes < 1) {
      throw new UsageError('worker', `--processes expects a whole number >= 1, got ${JSON.stringify(values.processes)}`);
    }
    const { superviseWorkers } = await import('./supervisor.ts');
    return superviseWorkers(resolveWorkerFile(file), processes, out);
  }
  const { App, onShutdownStarted } = await import('../index.ts');
  const module = await importWorkerFile(file);
  const app = module.default ?? module.app;
  if (!(app instanceof App)) throw new UsageError('worker', `${file} must export an app made with createApp() (as default or as "app")`);
  app.config.handleSignals = true;
  onShutdownStarted(({ signal }) => app.logger.info({ event: 'shutdown.signal', signal }, `${signal}: stopping gracefully (running jobs finish and commit); ${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again exits at once`));
  await app.run();
  return -1;
}

async function runKafka(args: readonly string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommand('kafka', args, {});
  const [action] = positionals;
  if (action === undefined) {
    if (values.help) {
      out(KAFKA_USAGE);
      return 0;
    }
    throw new UsageError('kafka', 'missing the subcommand: start or stop');
  }
  if (action !== 'start' && action !== 'stop') throw new UsageError('kafka', `unknown subcommand ${JSON.stringify(action)}: expected start or stop`);
  if (values.help) {
    out(action === 'start' ? KAFKA_START_USAGE : KAFKA_STOP_USAGE);
    return 0;
  }
  refuseExtraArguments(`kafka ${action}`, positionals, 1);
  if (action === 'start') {
    const { startLocalBroker } = await import('../local-broker/index.ts');
    const broker = await startLocalBroker();
    out(`kafka: ${broker.brokers.join(',')}${broker.started ? ' (started)' : ' (already running)'}`);
    return 0;
  }
  const { stopLocalBroker } = await import('../local-broker/index.ts');
  await stopLocalBroker();
  return 0;
}

function readVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}
