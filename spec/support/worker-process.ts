import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SOURCE_CLI } from './cli.ts';
import { testBrokers } from './kafka.ts';

const WORKER = fileURLToPath(new URL('./recording-worker.ts', import.meta.url));

/** One line of a recording worker's event file. */
export interface WorkerEvent {
  pid: number;
  at: number;
  e: 'up' | 'down' | 'start' | 'done' | 'commit' | 'revoked' | 'assigned' | 'inherited';
  p?: number;
  o?: number;
  id?: string;
  offsets?: [number, number][];
  unfinished?: number;
  /** Of an `inherited` event: how many finished offsets the previous owner's done-map listed. */
  n?: number;
}

/** Starts `partita worker spec/support/recording-worker.ts` (with extra CLI args) as a child process. */
export function startRecordingWorker(env: { TOPIC: string; GROUP: string; EVENTS_FILE: string; JOB_MS?: string }, extraArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [...SOURCE_CLI, 'worker', WORKER, ...extraArgs], {
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

/** One owner giving a partition up (crash, revocation or stop) to a later owner. */
export interface Handover {
  pid: number;
  partition: number;
  /** Jobs it had started and not finished. */
  running: number;
  /** Jobs it finished too late for its last acknowledged commit to be sure to carry them (see {@link resumeReport}). */
  finishedLate: number;
}

/** What the handovers of a run repeated, and what crash-exact resume allowed them to repeat. */
export interface ResumeReport {
  /** Executions beyond the first of each job. */
  repeats: number;
  handovers: Handover[];
  /** Offsets new owners skipped because a previous owner's done-map listed them as finished. */
  skipped: number;
  /** Jobs started again after an owner's acknowledged commit carried them as finished. */
  violations: string[];
}

/**
 * Checks crash-exact resume from the event files: an owner's commit is built after its previous
 * commit was acknowledged and carries every job marked by then (below its offset or in its
 * done-map), so a job an owner finished before its last-but-one acknowledged commit of the
 * partition is carried by its last one, and no later owner may start it again. Every repeat must
 * be a job that was running at the handover or finished after that commit: `repeats` is at most
 * the sum of `running` and `finishedLate` over the handovers.
 */
export function resumeReport(events: WorkerEvent[]): ResumeReport {
  interface Period {
    pid: number;
    partition: number;
    from: number;
    starts: WorkerEvent[];
    dones: WorkerEvent[];
    commits: number[];
  }
  const periods: Period[] = [];
  const current = new Map<string, Period>();
  const periodOf = (pid: number, partition: number, at: number, fresh: boolean): Period => {
    const key = `${pid}/${partition}`;
    let period = current.get(key);
    if (!period || fresh) {
      period = { pid, partition, from: at, starts: [], dones: [], commits: [] };
      current.set(key, period);
      periods.push(period);
    }
    return period;
  };
  for (const e of events) {
    if (e.e === 'assigned') periodOf(e.pid, e.p!, e.at, true);
    else if (e.e === 'start') periodOf(e.pid, e.p!, e.at, false).starts.push(e);
    else if (e.e === 'done') periodOf(e.pid, e.p!, e.at, false).dones.push(e);
    else if (e.e === 'commit') for (const [p] of e.offsets!) periodOf(e.pid, p, e.at, false).commits.push(e.at);
  }
  const settledAt = new Map<string, number>();
  const handovers: Handover[] = [];
  for (const period of periods) {
    const lastButOne = period.commits.at(-2);
    const last = period.commits.at(-1);
    const done = new Set(period.dones.map((e) => e.o));
    let finishedLate = 0;
    for (const e of period.dones) {
      const key = `${e.p}@${e.o}`;
      if (lastButOne !== undefined && e.at < lastButOne) settledAt.set(key, Math.min(settledAt.get(key) ?? Infinity, last!));
      else finishedLate += 1;
    }
    const handedOver = periods.some((later) => later !== period && later.partition === period.partition && later.from > period.from);
    if (handedOver) {
      const running = period.starts.filter((e) => !done.has(e.o)).length;
      handovers.push({ pid: period.pid, partition: period.partition, running, finishedLate });
    }
  }
  const violations: string[] = [];
  for (const e of events) {
    if (e.e !== 'start') continue;
    const settled = settledAt.get(`${e.p}@${e.o}`);
    if (settled !== undefined && e.at > settled) violations.push(`pid ${e.pid} started ${e.p}@${e.o} at ${e.at}, after a commit carried it as finished at ${settled}`);
  }
  const doneEvents = events.filter((e) => e.e === 'done');
  const skipped = events.reduce((sum, e) => sum + (e.e === 'inherited' ? e.n! : 0), 0);
  return { repeats: doneEvents.length - finished(events).size, handovers, skipped, violations };
}
