/**
 * Workload 3, IO-bound scaling: one partition, `keys` keys, each job awaits `jobMs`; throughput at
 * each lane count, and its speedup over one lane against the ideal (the lane count).
 */
import { ioJobs } from '../settings.ts';
import type { BenchContext } from '../support/context.ts';

export async function ioScalingWorkload(ctx: BenchContext): Promise<void> {
  const { settings, kafka } = ctx;
  const { lanes: laneCounts, jobMs } = settings.io;
  const topic = await kafka.createTopic('io', 1);
  await kafka.prefill(topic, Math.max(...laneCounts.map((lanes) => ioJobs(settings, lanes))), settings.keys, settings.payloadChars);
  for (const lanes of laneCounts) {
    const outcome = await ctx.run(`Partita worker, ${lanes} lanes, ${jobMs} ms jobs`, 'partita-worker', {
      brokers: kafka.brokers,
      topic,
      groupId: kafka.group(`io-${lanes}`),
      keys: settings.keys,
      expected: ioJobs(settings, lanes),
      work: 'sleep',
      jobMs,
      latencyFrom: 0,
      deadlineMs: settings.childTimeoutMs - 15_000,
      lanes,
    });
    if (outcome) ctx.partita.io.set(lanes, outcome);
  }
  const single = ctx.partita.io.get(1)?.result.perSecond;
  for (const lanes of laneCounts.filter((n) => n > 1)) {
    const outcome = ctx.partita.io.get(lanes);
    ctx.add({
      workload: 'io-scaling',
      metric: `speedup over 1 lane, ${lanes} lanes (×)`,
      partita: outcome && single ? { value: outcome.result.perSecond / single, peakRssMb: outcome.peakRssBytes / 2 ** 20 } : null,
      baselineName: 'ideal (= lanes)',
      baseline: { value: lanes },
      better: 'higher',
      target: lanes <= 32 ? '≥ 0.8×' : '—',
    });
  }
}
