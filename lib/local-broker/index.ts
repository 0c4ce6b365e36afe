import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BrokerUnavailableError } from '../errors.ts';

/** A broker for development and tests, and whether this process started it. */
export interface LocalBroker {
  /** `host:port` of the broker, for `createApp({ kafka: { brokers } })`. */
  brokers: string[];
  /** True when this call started the broker (and `stop()` will stop it). */
  started: boolean;
  /** Stops the broker when this call started it; does nothing otherwise. */
  stop(): Promise<void>;
}

const INFRA = fileURLToPath(new URL('../../infra/kafka/', import.meta.url));

/**
 * Finds or starts a Kafka broker: `KAFKA_BROKERS` when set; else a broker already answering on
 * 127.0.0.1:`port`; else a single-node broker started from `infra/kafka` (jars from Maven Central).
 */
export async function startLocalBroker(options: { port?: number } = {}): Promise<LocalBroker> {
  const configured = process.env.KAFKA_BROKERS?.trim();
  if (configured) {
    return { brokers: configured.split(',').map((b) => b.trim()), started: false, stop: async () => {} };
  }
  const port = options.port ?? Number(process.env.KAFKA_PORT ?? 9092);
  const brokers = [`127.0.0.1:${port}`];
  if (await answers('127.0.0.1', port)) return { brokers, started: false, stop: async () => {} };
  await runScript('start.sh', port);
  return { brokers, started: true, stop: () => runScript('stop.sh', port) };
}

/**
 * Stops what `infra/kafka/start.sh` started from this installation: the node on `KAFKA_PORT` (and
 * the rest of its cluster) when it is set, else every node. Nothing when `KAFKA_BROKERS` is set
 * (that cluster is not a local one) or when nothing runs.
 */
export function stopLocalBroker(): Promise<void> {
  return runScript('stop.sh');
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Runs an infra/kafka script. With `port`, on that port and without `KAFKA_BROKERS` (the scripts
 * leave an external cluster alone when it is set; a broker we found or started is local).
 */
function runScript(script: string, port?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const { KAFKA_BROKERS: _external, ...local } = process.env;
    const child = spawn('bash', [`${INFRA}${script}`], {
      env: port === undefined ? process.env : { ...local, KAFKA_PORT: String(port) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', (error) => reject(new BrokerUnavailableError(`Could not run infra/kafka/${script}: ${error.message}`)));
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else {
        const hint =
          script === 'start.sh'
            ? 'It needs java and mvn (apt-get install openjdk-17-jre-headless maven), or set KAFKA_BROKERS=host:port to use a running cluster.'
            : 'Its output above says why.';
        reject(new BrokerUnavailableError(`infra/kafka/${script} exited with ${code}. ${hint}`));
      }
    });
  });
}
