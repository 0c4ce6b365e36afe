/**
 * A throwaway Redis for the BullMQ baseline: Debian's redis-server (installed with apt-get when it
 * is not on PATH), on 127.0.0.1 and a spare port, without persistence; stopped afterwards.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { sleep } from './stats.ts';

export interface LocalRedis {
  port: number;
  version: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

function installedVersion(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? (/v=(\S+)/.exec(probe.stdout)?.[1] ?? probe.stdout.trim()) : undefined;
}

function install(): void {
  console.log('redis-server is not on PATH: installing Debian\'s redis-server (apt-get)');
  const result = spawnSync('bash', ['-c', 'apt-get update && apt-get install -y redis-server'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.status !== 0) throw new Error(`apt-get install redis-server failed (exit ${result.status}); install it and run again`);
}

function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export async function startRedis(): Promise<LocalRedis> {
  if (installedVersion() === undefined) install();
  const version = installedVersion() ?? 'unknown';
  const port = await sparePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answersPing(port))) {
    if (Date.now() > deadline || server.exitCode !== null) {
      await stop();
      throw new Error(`redis-server did not answer on 127.0.0.1:${port}`);
    }
    await sleep(100);
  }
  return { port, version, stop };
}
