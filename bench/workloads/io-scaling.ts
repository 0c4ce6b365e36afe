/**
 * Workload 3, IO-bound scaling: one partition, `keys` keys, each job awaits `jobMs`; throughput at
 * each lane count with `consistent` and with `balanced` distribution, and its speedup over one lane
 * against the ideal (the lane count). One lane is the same for both distributions and runs once.
 */
import type { WorkerResult } from '../roles/partita-worker.ts';
import { ioJobs } from '../settings.ts';
import type { ChildOutcome } from '../support/child.ts';
import type { BenchContext } from '../support/context.ts';

/** The targets for the speedup as a share of ideal, by lane count. */
const TARGETS: Record<number, string> = { 8: '≥ 0.8×', 32: '≥ 0.9×', 128: '≥ 0.75×' };

export async function ioScalingWorkload(ctx: BenchContext): Promise<void> {
  const { settings, kafka } = ctx;
  const { lanes: laneCounts, jobMs } = settings.io;
  const topic = await kafka.createTopic('io', 1);
  await kafka.prefill(topic, Math.max(...laneCounts.map((lanes) => ioJobs(settings, lanes))), settings.keys, settings.payloadChars);
  const runs = { consistent: ctx.partita.io, balanced: ctx.partita.ioBalanced };
  for (const lanes of laneCounts) {
    for (const distribution of lanes > 1 ? (['consistent', 'balanced'] as const) : (['consistent'] as const)) {
      const outcome = await ctx.run(`Partita worker, ${lanes} lanes ${distribution}, ${jobMs} ms jobs`, 'partita-worker', {
        brokers: kafka.brokers,
        topic,
        groupId: kafka.group(`io-${lanes}-${distribution}`),
        keys: settings.keys,
        expected: ioJobs(settings, lanes),
        work: 'sleep',
        jobMs,
        latencyFrom: 0,
        deadlineMs: settings.childTimeoutMs - 15_000,
        lanes,
        distribution,
      });
      if (outcome) runs[distribution].set(lanes, outcome);
    }
  }
  const single = ctx.partita.io.get(1);
  if (single) ctx.partita.ioBalanced.set(1, single);
  const speedup = (outcome: ChildOutcome<WorkerResult> | undefined) =>
    outcome && single ? { value: outcome.result.perSecond / single.result.perSecond, peakRssMb: outcome.peakRssBytes / 2 ** 20 } : null;
  for (const distribution of ['consistent', 'balanced'] as const) {
    const points = [...runs[distribution]].sort(([a], [b]) => a - b).flatMap(([lanes, outcome]) => (single ? [{ lanes, speedup: outcome.result.perSecond / single.result.perSecond }] : []));
    if (points.length > 0) ctx.series.ioSpeedup.push({ distribution, points });
    for (const lanes of laneCounts.filter((n) => n > 1)) {
      ctx.add({
        workload: 'io-scaling',
        metric: `speedup over 1 lane, ${lanes} lanes, ${distribution} (×)`,
        partita: speedup(runs[distribution].get(lanes)),
        baselineName: 'ideal (= lanes)',
        baseline: { value: lanes },
        better: 'higher',
        target: TARGETS[lanes] ?? '—',
      });
    }
  }
}
