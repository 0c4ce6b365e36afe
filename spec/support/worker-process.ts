import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { testBrokers } from './kafka.ts';

const BIN = fileURLToPath(new URL('../../lib/cli/bin.js', import.meta.url));
const WORKER = fileURLToPath(new URL('./recording-worker.ts', import.meta.url));

/** One line of a recording worker's event file. */
export interface WorkerEvent {
  pid: number;
  at: number;
  e: 'up' | 'down' | 'start' | 'done' | 'commit' | 'revoked' | 'assigned';
  p?: number;
  o?: number;
  id?: string;
  offsets?: [number, number][];
  unfinished?: number;
}

/** Starts `partita worker spec/support/recording-worker.ts` (with extra CLI args) as a child process. */
export function startRecordingWorker(env: { TOPIC: string; GROUP: string; EVENTS_FILE: string; JOB_MS?: string }, extraArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [BIN, 'worker', WORKER, ...extraArgs], {
    env: { ...process.env, ...env, KAFKA_BROKERS: testBrokers().join(',') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/**
 * The events recorded so far. Workers append while this reads, so the text after the last newline
 * may be a line still being written: it is left for the next read.
 */
export function readEvents(file: string): WorkerEvent[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop();
  return lines.filter((line) => line.length > 0).map((line) => JSON.parse(line) as WorkerEvent);
}

/** Resolves with the exit code (or signal) once the child is gone. */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}

/** Distinct (partition, offset) pairs that finished. */
export function finished(events: WorkerEvent[]): Set<string> {
  return new Set(events.filter((e) => e.e === 'done').map((e) => `${e.p}@${e.o}`));
}

/**
 * Commits that passed a job not finished (by any worker) when the commit was acknowledged:
 * returns descriptions of violations, empty when every commit covered finished jobs only.
 */
export function commitsPastUnfinished(events: WorkerEvent[], partitions: number): string[] {
  const firstDone = new Map<string, number>();
  for (const e of events) if (e.e === 'done' && !firstDone.has(`${e.p}@${e.o}`)) firstDone.set(`${e.p}@${e.o}`, e.at);
  const violations: string[] = [];
  for (let p = 0; p < partitions; p += 1) {
    // prefixDone[o] = the time by which every offset below o had finished (Infinity if one never did)
    const commits = events.filter((e) => e.e === 'commit').flatMap((e) => e.offsets!.filter(([cp]) => cp === p).map(([, o]) => ({ o, at: e.at, pid: e.pid })));
    if (commits.length === 0) continue;
    const top = Math.max(...commits.map((c) => c.o));
    const prefixDone: number[] = [0];
    for (let o = 0; o < top; o += 1) prefixDone.push(Math.max(prefixDone[o]!, firstDone.get(`${p}@${o}`) ?? Infinity));
    for (const c of commits) {
      if (prefixDone[c.o]! > c.at) violations.push(`pid ${c.pid} committed ${p}@${c.o} at ${c.at} before every job below it had finished`);
    }
  }
  return violations;
}
