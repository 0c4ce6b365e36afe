/**
 * Workload "operations": what the operations surface costs. One Partita worker consumes the same
 * pre-filled topic of no-op jobs three times: with reports off and no metrics (the baseline), with
 * reports every 5 s and Prometheus metrics collected (tracing through the API without an SDK), and
 * the same with an OpenTelemetry SDK recording a span per job. The three alternate, twice, and
 * each keeps its best run: the first run of a topic is cold, and a load change on the shared
 * machine then falls on every side. Besides jobs/s (wall time, which the machine's load moves),
 * each is compared by jobs per CPU second of the worker process (its whole life: start, join,
 * jobs, stop), which the load moves less.
 */
import type { WorkerResult } from '../roles/partita-worker.ts';
import type { ChildOutcome } from '../support/child.ts';
import { rate, type BenchContext } from '../support/context.ts';
import type { Figure } from '../support/table.ts';

/** Rounds of the three runs; each mode keeps its best. */
const ROUNDS = 2;


export async function operationsWorkload(ctx: BenchContext): Promise<void> {
  const { settings, kafka } = ctx;
  const { jobs, lanes } = settings.consume;
  const topic = await kafka.createTopic('operations', settings.partitions);
  await kafka.prefill(topic, jobs, settings.keys, settings.payloadChars);
  const common = { brokers: kafka.brokers, topic, keys: settings.keys, expected: jobs, work: 'noop' as const, jobMs: 0, latencyFrom: 0, deadlineMs: settings.childTimeoutMs - 15_000, lanes };
  const modes = [
    ['off', 'operations off'],
    ['on', 'reports + metrics on'],
    ['on+sdk', 'reports + metrics + tracing SDK'],
  ] as const;
  const fastest = new Map<string, ChildOutcome<WorkerResult>>();
  const leanest = new Map<string, ChildOutcome<WorkerResult>>();
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const [operations, label] of modes) {
      const outcome = await ctx.run(`${label} (round ${round})`, 'partita-worker', { ...common, groupId: kafka.group(`ops-${operations}-${round}`), operations });
      if (!outcome?.result.finished) continue;
      const quickest = fastest.get(operations);
      if (!quickest || outcome.result.perSecond > quickest.result.perSecond) fastest.set(operations, outcome);
      const cheapest = leanest.get(operations);
      if (!cheapest || outcome.cpuMs < cheapest.cpuMs) leanest.set(operations, outcome);
    }
  }
  const perCpuSecond = (outcome: ChildOutcome<WorkerResult> | undefined): Figure | null =>
    outcome ? { value: jobs / (outcome.cpuMs / 1000), peakRssMb: outcome.peakRssBytes / 2 ** 20 } : null;
  const shape = `no-op jobs, ${settings.partitions} partitions, ${lanes} lanes`;
  const baselineName = 'reports and metrics off';
  for (const [operations, what, target] of [
    ['on', 'reports + metrics', '≥ 0.97×'],
    ['on+sdk', 'reports + metrics + OpenTelemetry SDK spans', '—'],
  ] as const) {
    ctx.add({ workload: 'operations', metric: `${shape}, ${what} (jobs/s)`, partita: rate(fastest.get(operations)), baselineName, baseline: rate(fastest.get('off')), better: 'higher', target });
    ctx.add({
      workload: 'operations',
      metric: `${shape}, ${what} (jobs per CPU s)`,
      partita: perCpuSecond(leanest.get(operations)),
      baselineName,
      baseline: perCpuSecond(leanest.get('off')),
      better: 'higher',
      target,
    });
  }
}
