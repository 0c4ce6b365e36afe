/** Sizes of every workload, for the full run and the ~2 minute smoke run (`--quick`). */
export interface BenchSettings {
  mode: 'full' | 'quick';
  /** Partitions of every multi-partition topic (enqueue, consumption, latency, ceiling). */
  partitions: number;
  /** Distinct job keys (the `job-key` header and the Kafka message key). */
  keys: number;
  /** Characters of filler in each job's arguments, so messages have a realistic size. */
  payloadChars: number;
  enqueue: { jobs: number; syncJobs: number; syncInFlight: number; chunk: number };
  consume: { jobs: number; lanes: number };
  io: { lanes: number[]; jobsPerLane: number; maxJobs: number; jobMs: number };
  latency: { rate: number; seconds: number; warmupSeconds: number; lanes: number };
  bullmq: { addJobs: number; workerJobs: number; concurrency: number };
  ceiling: { records: number };
  /**
   * The scale rows, each against the consume workload's worker: a backlog of `backlog` jobs, `keys`
   * keys, `partitions` partitions, `topics` topics through one pattern (`consume.jobs` jobs in all),
   * and `processes` workers in one group. `backlogTimeoutMs` bounds the backlog row's child.
   */
  scale: { backlog: number; backlogTimeoutMs: number; keys: number; partitions: number; topics: number; processes: number };
  /** Longest any one child process may run before it is killed and its workload reported as failed. */
  childTimeoutMs: number;
  /** Workloads not started within this time from the start of the run are skipped (and reported). */
  runBudgetMs: number;
}

const FULL: BenchSettings = {
  mode: 'full',
  partitions: 8,
  keys: 1000,
  payloadChars: 200,
  enqueue: { jobs: 50_000, syncJobs: 20_000, syncInFlight: 100, chunk: 1000 },
  consume: { jobs: 100_000, lanes: 8 },
  io: { lanes: [1, 8, 32, 128], jobsPerLane: 1000, maxJobs: 40_000, jobMs: 5 },
  latency: { rate: 1000, seconds: 30, warmupSeconds: 2, lanes: 8 },
  bullmq: { addJobs: 50_000, workerJobs: 50_000, concurrency: 100 },
  ceiling: { records: 500_000 },
  scale: { backlog: 1_000_000, backlogTimeoutMs: 240_000, keys: 10_000, partitions: 64, topics: 50, processes: 2 },
  childTimeoutMs: 120_000,
  runBudgetMs: 14 * 60_000,
};

const QUICK: BenchSettings = {
  ...FULL,
  mode: 'quick',
  enqueue: { jobs: 5_000, syncJobs: 2_000, syncInFlight: 100, chunk: 1000 },
  consume: { jobs: 10_000, lanes: 8 },
  io: { lanes: [1, 8, 32, 128], jobsPerLane: 100, maxJobs: 4_000, jobMs: 5 },
  latency: { rate: 1000, seconds: 3, warmupSeconds: 1, lanes: 8 },
  bullmq: { addJobs: 5_000, workerJobs: 5_000, concurrency: 100 },
  ceiling: { records: 50_000 },
  scale: { backlog: 100_000, backlogTimeoutMs: 60_000, keys: 10_000, partitions: 64, topics: 50, processes: 2 },
  childTimeoutMs: 45_000,
  runBudgetMs: 3 * 60_000,
};

export function settingsFor(argv: readonly string[]): BenchSettings {
  return argv.includes('--quick') ? QUICK : FULL;
}

/** Jobs of the IO-bound workload at a lane count: enough for ~5 s at ideal speed, bounded. */
export function ioJobs(settings: BenchSettings, lanes: number): number {
  return Math.min(settings.io.jobsPerLane * lanes, settings.io.maxJobs);
}
