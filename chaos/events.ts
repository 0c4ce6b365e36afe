/**
 * The event file the suite's workers append to, read incrementally (a line still being written is
 * left for the next read), and the figures computed from it.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/** One line of a worker's event file (see chaos/worker.ts). */
export interface WorkerEvent {
  pid: number;
  at: number;
  e: 'up' | 'down' | 'start' | 'done' | 'commit' | 'assigned' | 'revoked' | 'error';
  p?: number;
  o?: number;
  id?: string;
  offsets?: [number, number][];
  message?: string;
}

/** An accepted job: its produceSync resolved. */
export interface AcceptedJob {
  id: string;
  key: string;
  seq: number;
}

/** Reads the lines appended to `file` since the last call. */
export class AppendedLines {
  readonly #file: string;
  #position = 0;
  #rest = '';

  constructor(file: string) {
    this.#file = file;
  }

  read(): string[] {
    if (!existsSync(this.#file)) return [];
    const size = statSync(this.#file).size;
    if (size <= this.#position) return [];
    const buffer = Buffer.alloc(size - this.#position);
    const fd = openSync(this.#file, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, this.#position);
    } finally {
      closeSync(fd);
    }
    this.#position = size;
    const lines = (this.#rest + buffer.toString('utf8')).split('\n');
    this.#rest = lines.pop()!;
    return lines.filter((line) => line.length > 0);
  }
}

/** Every event of a run so far, with the distinct finished offsets kept up to date. */
export class EventLog {
  readonly events: WorkerEvent[] = [];
  /** `partition@offset` of every job that finished at least once. */
  readonly finished = new Set<string>();
  readonly #lines: AppendedLines;

  constructor(file: string) {
    this.#lines = new AppendedLines(file);
  }

  poll(): this {
    for (const line of this.#lines.read()) {
      const event = JSON.parse(line) as WorkerEvent;
      this.events.push(event);
      if (event.e === 'done') this.finished.add(`${event.p}@${event.o}`);
    }
    return this;
  }
}

/** Reads `<id> <key> <seq>` lines of an accepted-jobs file. */
export function readAccepted(file: string): AcceptedJob[] {
  return new AppendedLines(file).read().map((line) => {
    const [id, key, seq] = line.split(' ');
    return { id: id!, key: key!, seq: Number(seq) };
  });
}

/** The figures of one run of jobs. */
export interface JobFigures {
  accepted: number;
  /** Accepted jobs never performed. */
  lost: number;
  /** Pairs of consecutive accepted jobs of one key whose first executions started out of order. */
  orderViolations: number;
  /** Commits acknowledged before every job below the committed offset had finished. */
  commitsPastUnfinished: number;
  /** Executions beyond the first of a job (partition@offset). */
  duplicates: number;
  /** Jobs run that no produceSync acknowledged (written although the call failed). */
  unacknowledgedRuns: number;
  /** Descriptions of the first violations, for the report. */
  examples: string[];
}

/** Computes the figures of a run from the accepted jobs and the workers' events. */
export function jobFigures(accepted: readonly AcceptedJob[], events: readonly WorkerEvent[]): JobFigures {
  const examples: string[] = [];
  const note = (text: string) => examples.length < 5 && examples.push(text);
  const firstStart = new Map<string, number>();
  const firstDone = new Map<string, number>();
  const doneIds = new Set<string>();
  let executions = 0;
  for (const e of events) {
    if (e.e === 'start' && !firstStart.has(e.id!)) firstStart.set(e.id!, e.at);
    if (e.e === 'done') {
      executions += 1;
      doneIds.add(e.id!);
      const at = `${e.p}@${e.o}`;
      if (!firstDone.has(at)) firstDone.set(at, e.at);
    }
  }

  const acceptedIds = new Set(accepted.map((job) => job.id));
  let lost = 0;
  for (const job of accepted) {
    if (doneIds.has(job.id)) continue;
    lost += 1;
    note(`lost: ${job.id} (key ${job.key}, seq ${job.seq}) never performed`);
  }

  // Accepted order per key is enqueue order: each key has a single sequential caller.
  let orderViolations = 0;
  const previousOfKey = new Map<string, AcceptedJob>();
  for (const job of accepted) {
    const previous = previousOfKey.get(job.key);
    previousOfKey.set(job.key, job);
    if (!previous) continue;
    const before = firstStart.get(previous.id);
    const after = firstStart.get(job.id);
    if (after === undefined) continue;
    if (before === undefined || after < before) {
      orderViolations += 1;
      note(`order: key ${job.key} seq ${job.seq} first started at ${after}, seq ${previous.seq} ${before === undefined ? 'never' : `at ${before}`}`);
    }
  }

  let commitsPastUnfinished = 0;
  const commitsByPartition = new Map<number, { offset: number; at: number; pid: number }[]>();
  for (const e of events) {
    if (e.e !== 'commit') continue;
    for (const [partition, offset] of e.offsets!) {
      const list = commitsByPartition.get(partition) ?? [];
      list.push({ offset, at: e.at, pid: e.pid });
      commitsByPartition.set(partition, list);
    }
  }
  for (const [partition, commits] of commitsByPartition) {
    const top = Math.max(...commits.map((c) => c.offset));
    // prefixDone[o]: the time by which every offset below o had finished (Infinity if one never did).
    const prefixDone: number[] = [0];
    for (let o = 0; o < top; o += 1) prefixDone.push(Math.max(prefixDone[o]!, firstDone.get(`${partition}@${o}`) ?? Infinity));
    for (const c of commits) {
      if (prefixDone[c.offset]! <= c.at) continue;
      commitsPastUnfinished += 1;
      note(`commit: pid ${c.pid} committed ${partition}@${c.offset} at ${c.at} before every job below it had finished`);
    }
  }

  const unacknowledgedRuns = [...doneIds].filter((id) => !acceptedIds.has(id)).length;
  return { accepted: accepted.length, lost, orderViolations, commitsPastUnfinished, duplicates: executions - firstDone.size, unacknowledgedRuns, examples };
}
