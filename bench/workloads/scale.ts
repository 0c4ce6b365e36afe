/**
 * Workload "scale": the consume workload's worker (no-op jobs, 8 lanes) as the work grows, each row
 * against the consume workload's figure from the same run: a backlog 10× larger, 10 000 keys,
 * 64 partitions, 50 topics consumed through one `r.pattern` route; and two worker processes in one
 * group against the one worker on the backlog's topic. Peak RSS per row shows whether memory stays
 * flat.
 */
import type { PartitaWorkerSpec, WorkerResult } from '../roles/partita-worker.ts';
import type { ChildOutcome } from '../support/child.ts';
import { rate, type BenchContext } from '../support/context.ts';
import { waitUntil } from '../support/stats.ts';
import type { Figure } from '../support/table.ts';

/** The bound on a worker's peak RSS, whatever the backlog. */
const RSS_TARGET = 'RSS ≤ 200 MB';

export async function scaleWorkload(ctx: BenchContext): Promise<void> {
  const { settings, kafka } = ctx;
  const { jobs, lanes } = settings.consume;
  const { backlog, backlogTimeoutMs, keys, partitions, topics, processes } = settings.scale;
  const worker = (name: string, topic: string, expected: number, spec: Partial<PartitaWorkerSpec> = {}): PartitaWorkerSpec => ({
    brokers: kafka.brokers,
    topic,
    groupId: kafka.group(`scale-${name}`),
    keys: settings.keys,
    expected,
    work: 'noop',
    jobMs: 0,
    latencyFrom: 0,
    deadlineMs: settings.childTimeoutMs - 15_000,
    lanes,
    ...spec,
  });

  if (!ctx.partita.consume) {
    const topic = await kafka.createTopic('scale-base', settings.partitions);
    await kafka.prefill(topic, jobs, settings.keys, settings.payloadChars);
    ctx.partita.consume = await ctx.run(`Partita worker, ${lanes} lanes (the consume figure)`, 'partita-worker', worker('base', topic, jobs));
  }
  const base = rate(ctx.partita.consume);
  const baselineName = `consume: 1 worker, ${jobs.toLocaleString('en-US')} jobs`;
  const add = (metric: string, partita: Figure | null) =>
    ctx.add({ workload: 'scale', metric: `${metric} (jobs/s)`, partita, baselineName, baseline: base, better: 'higher', target: RSS_TARGET });

  const backlogTopic = await kafka.createTopic('scale-backlog', settings.partitions);
  const prefillStarted = performance.now();
  await kafka.prefill(backlogTopic, backlog, settings.keys, settings.payloadChars);
  console.log(`  pre-filled ${backlog} jobs in ${((performance.now() - prefillStarted) / 1000).toFixed(1)} s`);
  const backlogged = await ctx.run(`Partita worker, backlog of ${backlog} jobs`, 'partita-worker', worker('backlog', backlogTopic, backlog, { deadlineMs: backlogTimeoutMs - 15_000 }), backlogTimeoutMs);
  add(`backlog ×${backlog / jobs}: ${backlog.toLocaleString('en-US')} jobs`, rate(backlogged));

  const keysTopic = await kafka.createTopic('scale-keys', settings.partitions);
  await kafka.prefill(keysTopic, jobs, keys, settings.payloadChars);
  add(`${keys.toLocaleString('en-US')} keys`, rate(await ctx.run(`Partita worker, ${keys} keys`, 'partita-worker', worker('keys', keysTopic, jobs, { keys }))));

  const partitionsTopic = await kafka.createTopic('scale-partitions', partitions);
  await kafka.prefill(partitionsTopic, jobs, settings.keys, settings.payloadChars);
  add(`${partitions} partitions`, rate(await ctx.run(`Partita worker, ${partitions} partitions`, 'partita-worker', worker('partitions', partitionsTopic, jobs))));

  const names = Array.from({ length: topics }, (_, i) => `scale-topics-${i}`);
  const topicNames = await kafka.createTopics(names, 1);
  for (const topic of topicNames) await kafka.prefill(topic, Math.ceil(jobs / topics), settings.keys, settings.payloadChars);
  const pattern = `^${kafka.topicName('scale-topics-').replace(/[.]/g, '\\.')}\\d+$`;
  const perPattern = Math.ceil(jobs / topics) * topics;
  add(
    `${topics} topics × 1 partition, one pattern`,
    rate(await ctx.run(`Partita worker, ${topics} topics through one pattern`, 'partita-worker', worker('topics', topicNames[0]!, perPattern, { pattern }))),
  );

  const shared = worker('processes', backlogTopic, backlog, { shared: true, deadlineMs: backlogTimeoutMs - 15_000 });
  ctx.add({
    workload: 'scale',
    metric: `${processes} worker processes in one group, backlog of ${backlog.toLocaleString('en-US')} (jobs/s)`,
    partita: await group(ctx, `${processes} Partita workers in one group`, processes, shared, backlogTimeoutMs),
    baselineName: '1 worker, same backlog',
    baseline: rate(backlogged),
    better: 'higher',
    target: RSS_TARGET,
  });
}

/**
 * Runs `processes` workers in one group until together they performed `spec.expected` jobs: the
 * rate is the jobs over the time from the first join to the last job (the rebalance when the second
 * joins is inside the clock), the RSS the largest peak.
 */
async function group(ctx: BenchContext, label: string, processes: number, spec: PartitaWorkerSpec, timeoutMs: number): Promise<Figure | null> {
  const children = Array.from({ length: processes }, () => ctx.start('partita-worker', spec, timeoutMs));
  const total = () => children.reduce((sum, child) => sum + child.progress(), 0);
  const joined = await Promise.all(children.map((child) => child.ready)).then(() => true, () => false);
  if (joined && !(await waitUntil(() => total() >= spec.expected, Date.now() + spec.deadlineMs))) {
    ctx.fail(label, new Error(`the group performed ${total()} of ${spec.expected} jobs before its deadline`));
  }
  for (const child of children) child.stop();
  const outcomes = await Promise.all(children.map((child, i) => ctx.settle(`${label}, worker ${i + 1}`, child.done)));
  if (!joined || outcomes.some((outcome) => !outcome)) return null;
  const done = outcomes as ChildOutcome<WorkerResult>[];
  const seconds = (Math.max(...done.map((o) => o.result.lastAt)) - Math.min(...done.map((o) => o.result.startedAt))) / 1000;
  const performed = done.map((o) => o.result.count);
  console.log(`  ${label}: ${Math.round(spec.expected / seconds)}/s (${performed.join(' + ')} jobs in ${seconds.toFixed(2)} s)`);
  return { value: spec.expected / seconds, peakRssMb: Math.max(...done.map((o) => o.peakRssBytes)) / 2 ** 20 };
}
