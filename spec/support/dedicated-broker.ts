import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { testBrokers } from './kafka.ts';

const INFRA = fileURLToPath(new URL('../../infra/kafka/', import.meta.url));

/** A single-node broker of a spec's own, for faults that would disturb the shared one. */
export interface DedicatedBroker {
  brokers: string[];
  /** SIGSTOP: the broker keeps its sockets but answers nothing until {@link thaw}. */
  freeze(): void;
  /** SIGCONT after {@link freeze}. */
  thaw(): void;
  stop(): Promise<void>;
}

function script(name: string, port: number): Promise<void> {
  const { KAFKA_BROKERS: _shared, ...env } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [`${INFRA}${name}`], {
      env: { ...env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 1), KAFKA_HEAP_OPTS: '-Xms256m -Xmx512m' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`infra/kafka/${name} on port ${port} exited with ${code}`))));
  });
}

/**
 * Starts a broker from infra/kafka (new storage, so a fresh cluster) on `port`, by default
 * `KAFKA_SPARE_PORT` or the shared test broker's port + 2; its controller listens one above.
 */
export async function startDedicatedBroker(options: { port?: number } = {}): Promise<DedicatedBroker> {
  const sharedPort = Number(testBrokers()[0]!.split(':')[1]);
  const port = options.port ?? Number(process.env.KAFKA_SPARE_PORT ?? sharedPort + 2);
  await script('start.sh', port);
  const pid = Number(readFileSync(`${INFRA}run/${port}/kafka.pid`, 'utf8').trim());
  let frozen = false;
  return {
    brokers: [`127.0.0.1:${port}`],
    freeze() {
      process.kill(pid, 'SIGSTOP');
      frozen = true;
    },
    thaw() {
      if (frozen) process.kill(pid, 'SIGCONT');
      frozen = false;
    },
    async stop() {
      if (frozen) process.kill(pid, 'SIGCONT');
      await script('stop.sh', port);
    },
  };
}
