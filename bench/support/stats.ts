/** Small measurement helpers shared by the roles. */

/** Wall-clock milliseconds with sub-millisecond precision; comparable across processes on one machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** A count over a span of time. */
export interface Throughput {
  count: number;
  seconds: number;
  /** count / seconds. */
  perSecond: number;
}

export function throughput(count: number, startMs: number, endMs: number): Throughput {
  const seconds = Math.max(endMs - startMs, 1e-3) / 1000;
  return { count, seconds, perSecond: count / seconds };
}

/** A point of a latency distribution: the share `q` of samples took at most `ms`. */
export interface Percentile {
  q: number;
  ms: number;
}

/** The quantiles every latency distribution reports (and the latency chart draws). */
export const QUANTILES = [0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

/** Latency distribution in ms. */
export interface LatencySummary {
  samples: number;
  p50: number;
  p99: number;
  max: number;
  /** The distribution at `QUANTILES`. */
  percentiles: Percentile[];
}

export function summarize(samples: number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1))]!);
  return { samples: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1), percentiles: QUANTILES.map((q) => ({ q, ms: at(q) })) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `done()` is true (checked every 20 ms) or `deadline` (epoch ms) passed; says which. */
export async function waitUntil(done: () => boolean, deadline: number): Promise<boolean> {
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}
