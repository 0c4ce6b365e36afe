import type { GroupOverview } from '../admin/index.ts';
import type { KafkaConnection } from '../index.ts';
import { ERRORS_RETENTION_MS, processStates, readReports, recentErrors, subscribeReports, type ErrorReport, type ProcessStatus, type TopicTail, type WorkerReport } from '../reports/index.ts';

/** Width of one point of the dashboard's charts, in ms. */
export const BUCKET_MS = 10_000;
/** How far back the charts go, in ms. */
export const HISTORY_MS = 3_600_000;
/** The shortest time the charts span, in ms (they start at the oldest figures of the hour). */
const MIN_CHART_MS = 600_000;
/** Error reports kept in memory for the Errors page (the newest). */
const ERRORS_KEPT = 500;
/** How often the server samples the consumer groups' lag while it runs, in ms. */
const LAG_SAMPLE_MS = 5_000;

/** One point of the charts: what the workers reported in one {@link BUCKET_MS} window. */
export interface SeriesPoint {
  /** Start of the window, ms since the epoch. */
  at: number;
  /** Jobs performed per second. */
  performedPerSecond: number;
  /** Failed executions per second. */
  failedPerSecond: number;
  /** Jobs running at the end of the window (over every live process). */
  running: number;
  /** Lag over every consumer group, when the server sampled it in this window. */
  lag: number | null;
}

/** The dashboard's headline figures, and what server-sent events carry. */
export interface Figures {
  /** When they were taken, ms since the epoch. */
  at: number;
  /** Jobs performed per second over the last minute. */
  performedPerSecond: number;
  /** Failed executions per second over the last minute. */
  failedPerSecond: number;
  /** Jobs running now, over every live process. */
  running: number;
  /** Lag over every consumer group (records not committed yet). */
  lag: number;
  /** Worker processes reporting now. */
  liveProcesses: number;
  /** Jobs performed in the last hour. */
  performedLastHour: number;
  /** Failed executions in the last hour. */
  failedLastHour: number;
}

interface Bucket {
  performed: number;
  failed: number;
  /** Running jobs per process, last report in the window. */
  running: Map<string, number>;
  lag: number | null;
}

/**
 * What the pages show from the workers' reports, kept in memory: the reports of the last hour are
 * read once at start and folded into {@link BUCKET_MS} windows, then followed live; the newest
 * error reports and the latest report per process are kept. Memory is bounded by the hour's
 * windows, one report per process and {@link ERRORS_KEPT} errors.
 */
export class LiveState {
  readonly #connection: KafkaConnection;
  readonly #groups: () => Promise<GroupOverview[]>;
  readonly #groupIds: readonly string[] | undefined;
  readonly #buckets = new Map<number, Bucket>();
  readonly #latest = new Map<string, WorkerReport>();
  /** The reports already folded (process id and time), so one read twice counts once. */
  readonly #folded = new Map<string, number>();
  #errors: ErrorReport[] = [];
  #lag = 0;
  #tail: TopicTail | undefined;
  #sampler: NodeJS.Timeout | undefined;
  #started: Promise<void> | undefined;
  readonly #listeners = new Set<(figures: Figures) => void>();

  /**
   * @param connection the cluster the workers report to
   * @param groups reads the consumer groups shown (their lag is sampled)
   * @param groupIds only reports and errors of these groups (undefined: all)
   */
  constructor(connection: KafkaConnection, groups: () => Promise<GroupOverview[]>, groupIds: readonly string[] | undefined) {
    this.#connection = connection;
    this.#groups = groups;
    this.#groupIds = groupIds;
  }

  /** Reads the last hour and starts following; called by every page once, shared after that. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      const since = Date.now() - HISTORY_MS;
      this.#tail = subscribeReports(this.#connection, {
        report: (report) => {
          if (!this.#shown(report.groupId)) return;
          this.#fold(report);
          this.#publish();
        },
        error: (error) => {
          if (this.#shown(error.groupId)) this.#keepErrors([error]);
        },
      });
      // Read the past only once the tail is assigned: whatever is published from then on comes by
      // the tail, the rest by the reads (what both see is taken once).
      await this.#tail.ready;
      const [reports, errors] = await Promise.all([
        readReports(this.#connection, { sinceMs: HISTORY_MS }),
        recentErrors(this.#connection, { sinceMs: ERRORS_RETENTION_MS, limit: ERRORS_KEPT }),
      ]);
      for (const report of reports) if (report.at >= since && this.#shown(report.groupId)) this.#fold(report);
      this.#keepErrors(errors.filter((error) => this.#shown(error.groupId)));
      await this.#sampleLag();
      this.#sampler = setInterval(() => void this.#sampleLag().then(() => this.#publish()), LAG_SAMPLE_MS);
      this.#sampler.unref();
    })().catch((error: unknown) => {
      this.#started = undefined;
      throw error;
    });
    return this.#started;
  }

  /** Stops following the reports and sampling lag. */
  async close(): Promise<void> {
    clearInterval(this.#sampler);
    this.#sampler = undefined;
    const tail = this.#tail;
    this.#tail = undefined;
    this.#started = undefined;
    await tail?.close();
  }

  /** Calls `listener` with fresh {@link Figures} after every report and lag sample; returns the unsubscribe. */
  subscribe(listener: (figures: Figures) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every process seen in the last hour, live ones first, newest report first. */
  processes(now = Date.now()): ProcessStatus[] {
    return processStates([...this.#latest.values()], now).sort((a, b) => (a.state === b.state ? 0 : a.state === 'live' ? -1 : 1));
  }

  /** The newest error reports, filtered by job class and topic. */
  errors(filter: { jobClass?: string; topic?: string } = {}): ErrorReport[] {
    return this.#errors.filter((e) => (filter.jobClass === undefined || e.jobClass === filter.jobClass) && (filter.topic === undefined || e.topic === filter.topic));
  }

  /** Job classes and topics that appear in the kept error reports (for the Errors page's filters). */
  errorFacets(): { jobClasses: string[]; topics: string[] } {
    const jobClasses = new Set<string>();
    const topics = new Set<string>();
    for (const e of this.#errors) {
      if (e.jobClass !== null) jobClasses.add(e.jobClass);
      if (e.topic !== null) topics.add(e.topic);
    }
    return { jobClasses: [...jobClasses].sort(), topics: [...topics].sort() };
  }

  /**
   * The charts' points, oldest first, one per {@link BUCKET_MS} (empty windows included): from the
   * oldest window with figures in the last hour, and at least the last {@link MIN_CHART_MS}.
   */
  series(now = Date.now()): SeriesPoint[] {
    const last = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    const oldestWithFigures = Math.min(...[...this.#buckets.keys()].filter((at) => at > last - HISTORY_MS));
    const first = Math.max(last - HISTORY_MS + BUCKET_MS, Math.min(last - MIN_CHART_MS + BUCKET_MS, oldestWithFigures));
    const points: SeriesPoint[] = [];
    for (let at = first; at <= last; at += BUCKET_MS) {
      const bucket = this.#buckets.get(at);
      points.push({
        at,
        performedPerSecond: (bucket?.performed ?? 0) / (BUCKET_MS / 1000),
        failedPerSecond: (bucket?.failed ?? 0) / (BUCKET_MS / 1000),
        running: bucket ? [...bucket.running.values()].reduce((sum, n) => sum + n, 0) : 0,
        lag: bucket?.lag ?? null,
      });
    }
    return points;
  }

  /** The headline figures now. */
  figures(now = Date.now()): Figures {
    const minuteAgo = now - 60_000;
    let performed = 0;
    let failed = 0;
    let performedLastHour = 0;
    let failedLastHour = 0;
    for (const [at, bucket] of this.#buckets) {
      if (at < now - HISTORY_MS) continue;
      performedLastHour += bucket.performed;
      failedLastHour += bucket.failed;
      if (at + BUCKET_MS <= minuteAgo) continue;
      performed += bucket.performed;
      failed += bucket.failed;
    }
    const live = this.processes(now).filter((p) => p.state === 'live');
    return {
      at: now,
      performedPerSecond: performed / 60,
      failedPerSecond: failed / 60,
      running: live.reduce((sum, p) => sum + p.report.runningJobs.length, 0),
      lag: this.#lag,
      liveProcesses: live.length,
      performedLastHour,
      failedLastHour,
    };
  }

  #fold(report: WorkerReport): void {
    const key = `${report.processId}|${report.at}`;
    if (this.#folded.has(key)) return;
    this.#folded.set(key, report.at);
    const known = this.#latest.get(report.processId);
    if (!known || known.at <= report.at) this.#latest.set(report.processId, report);
    const bucket = this.#bucket(report.at);
    for (const stats of report.jobs) {
      bucket.performed += stats.performed;
      bucket.failed += stats.failed;
    }
    bucket.running.set(report.processId, report.runningJobs.length);
    this.#prune();
  }

  #bucket(at: number): Bucket {
    const start = Math.floor(at / BUCKET_MS) * BUCKET_MS;
    let bucket = this.#buckets.get(start);
    if (!bucket) this.#buckets.set(start, (bucket = { performed: 0, failed: 0, running: new Map(), lag: null }));
    return bucket;
  }

  #prune(now = Date.now()): void {
    for (const at of this.#buckets.keys()) if (at < now - HISTORY_MS) this.#buckets.delete(at);
    for (const [id, report] of this.#latest) if (report.at < now - HISTORY_MS) this.#latest.delete(id);
    for (const [key, at] of this.#folded) if (at < now - HISTORY_MS) this.#folded.delete(key);
  }

  #keepErrors(errors: readonly ErrorReport[]): void {
    const seen = new Set(this.#errors.map(errorKey));
    const fresh = errors.filter((e) => !seen.has(errorKey(e)));
    this.#errors = [...fresh, ...this.#errors].sort((a, b) => b.at - a.at).slice(0, ERRORS_KEPT);
  }

  async #sampleLag(): Promise<void> {
    try {
      const groups = await this.#groups();
      this.#lag = groups.reduce((sum, g) => sum + g.lag, 0);
      this.#bucket(Date.now()).lag = this.#lag;
    } catch {
      // The broker is away: the previous figure stands until the next sample.
    }
  }

  #shown(groupId: string): boolean {
    return this.#groupIds === undefined || this.#groupIds.includes(groupId);
  }

  #publish(): void {
    if (this.#listeners.size === 0) return;
    const figures = this.figures();
    for (const listener of this.#listeners) listener(figures);
  }
}

function errorKey(error: ErrorReport): string {
  return `${error.processId}|${error.at}|${error.topic ?? ''}|${error.partition ?? ''}|${error.offset ?? ''}|${error.message}`;
}
