/**
 * A run of jobs on the cluster: a topic, worker processes (chaos/worker.ts) and enqueuer processes
 * (chaos/enqueuer.ts), their event and accepted-jobs files, and the wait for the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { delayTopics } from '../lib/index.ts';
import type { Cluster } from './cluster.ts';
import { EventLog, jobFigures, readAccepted, type JobFigures } from './events.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** `partita` from its sources, through tsx (the worker file imports lib/). */
const CLI = ['--import', 'tsx', fileURLToPath(new URL('../lib/cli/bin.ts', import.meta.url))];
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const ENQUEUER = fileURLToPath(new URL('./enqueuer.ts', import.meta.url));

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the exit code (or signal) once the child is gone. */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}

export function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Waits until `condition` holds, checking every `intervalMs`; throws naming `what` after `timeoutMs`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export interface EnqueueSpec {
  from: number;
  jobs: number;
  rate: number;
  callers?: number;
}

export class JobRun {
  readonly topic: string;
  readonly group: string;
  readonly eventsFile: string;
  readonly acceptedFile: string;
  /** The children's stderr (Partita's log lines at PARTITA_LOG_LEVEL, default warn). */
  readonly stderrFile: string;
  readonly log: EventLog;
  readonly workers: ChildProcess[] = [];
  readonly #children = new Set<ChildProcess>();
  readonly #cluster: Cluster;
  readonly #partitions: number;
  readonly #jobMs: number;
  readonly #keys: number;
  readonly #started = Date.now();

  constructor(cluster: Cluster, name: string, options: { partitions: number; jobMs: number; keys: number }) {
    const id = `${Date.now().toString(36)}${process.pid.toString(36)}`;
    this.#cluster = cluster;
    this.topic = `chaos-${name}-${id}`;
    this.group = `chaos-${name}-${id}`;
    const dir = mkdtempSync(join(tmpdir(), `partita-chaos-${name}-`));
    this.eventsFile = join(dir, 'events.ndjson');
    this.acceptedFile = join(dir, 'accepted.txt');
    this.stderrFile = join(dir, 'stderr.log');
    this.log = new EventLog(this.eventsFile);
    this.#partitions = options.partitions;
    this.#jobMs = options.jobMs;
    this.#keys = options.keys;
  }

  createTopic(): Promise<void> {
    return this.#cluster.createTopic(this.topic, this.#partitions);
  }

  /** Starts a worker process; it is in `workers` until it exits. */
  startWorker(): ChildProcess {
    const child = this.#spawn([...CLI, 'worker', WORKER], 'ignore', { TOPIC: this.topic, GROUP: this.group, EVENTS_FILE: this.eventsFile, JOB_MS: String(this.#jobMs) });
    this.workers.push(child);
    child.once('exit', () => this.workers.splice(this.workers.indexOf(child), 1));
    return child;
  }

  /** Starts an enqueuer process for seq numbers `from` .. `from + jobs - 1`. */
  startEnqueuer(spec: EnqueueSpec): ChildProcess {
    return this.#spawn(['--import', 'tsx', ENQUEUER], 'inherit', {
      TOPIC: this.topic,
      ACCEPTED_FILE: this.acceptedFile,
      FROM: String(spec.from),
      JOBS: String(spec.jobs),
      KEYS: String(this.#keys),
      RATE: String(spec.rate),
      CALLERS: String(spec.callers ?? 8),
    });
  }

  /** Jobs whose produceSync resolved so far. */
  acceptedCount(): number {
    return readAccepted(this.acceptedFile).length;
  }

  /** Waits until `count` distinct jobs finished. */
  async waitFinished(count: number, what: string, timeoutMs: number): Promise<void> {
    await waitUntil(() => this.log.poll().finished.size >= count, what, timeoutMs);
  }

  /**
   * Waits until every record on the topic was performed (no progress for `stallMs` ends the wait:
   * the figures then show what was lost), stops the workers with SIGTERM and computes the figures.
   */
  async finish(stallMs: number): Promise<{ figures: JobFigures; note: string }> {
    const admin = await this.#cluster.admin();
    const onTopic = async () => (await admin.fetchTopicOffsets(this.topic)).reduce((sum, p) => sum + Number(p.high), 0);
    let total = await onTopic();
    let seen = -1;
    let lastProgress = Date.now();
    while (this.log.poll().finished.size < total && Date.now() - lastProgress < stallMs) {
      if (this.log.finished.size !== seen) {
        seen = this.log.finished.size;
        lastProgress = Date.now();
      }
      await sleep(500);
      total = await onTopic();
    }
    const lastDone = this.log.events.reduce((last, e) => (e.e === 'done' ? Math.max(last, e.at) : last), this.#started);
    const drained = `${this.log.finished.size} of ${total} records on the topic performed, the last ${((lastDone - this.#started) / 1000).toFixed(1)} s after the run began`;
    // The last commits follow the last jobs within the commit interval.
    await sleep(1000);
    const stopping = Date.now();
    await this.stopAll();
    const note = `${drained}; the workers stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s; events in ${this.eventsFile}, logs in ${this.stderrFile}`;
    return { figures: jobFigures(readAccepted(this.acceptedFile), this.log.poll().events), note };
  }

  /** SIGTERM to every child still running (SIGKILL after 30 s). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#children].filter(alive).map((child) => this.stop(child)));
  }

  /** SIGTERM to `child`, SIGKILL if it has not exited after 30 s. */
  async stop(child: ChildProcess): Promise<number | string> {
    if (!alive(child)) return exited(child);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      return await exited(child);
    } finally {
      clearTimeout(timer);
    }
  }

  /** kill -9 of `child`. */
  async kill(child: ChildProcess): Promise<void> {
    child.kill('SIGKILL');
    await exited(child);
  }

  /** SIGKILL to every child still running (after a failure), then deletes the run's topics. */
  async killAll(): Promise<void> {
    await Promise.all([...this.#children].filter(alive).map((child) => this.kill(child)));
    await this.#cluster.deleteTopics([this.topic, ...delayTopics(this.topic)]).catch(() => undefined);
  }

  #spawn(args: string[], stdout: 'ignore' | 'inherit', env: Record<string, string>): ChildProcess {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PARTITA_LOG_LEVEL: 'warn', ...process.env, ...env, KAFKA_BROKERS: this.#cluster.brokers.join(',') },
      stdio: ['ignore', stdout, openSync(this.stderrFile, 'a')],
    });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }
}
