/**
 * Workload 2, no-op jobs consumed: one Partita worker (lanes keyed by the `job-key` header) against
 * a raw kafkajs `eachBatch` loop, both reading the same pre-filled topic from the beginning. The
 * raw loop runs twice: counting only, and parsing each value as JSON (the least a job runner does).
 */
import { rate, type BenchContext } from '../support/context.ts';

export async function consumeWorkload(ctx: BenchContext): Promise<void> {
  const { settings, kafka } = ctx;
  const { jobs, lanes } = settings.consume;
  const topic = await kafka.createTopic('consume', settings.partitions);
  await kafka.prefill(topic, jobs, settings.keys, settings.payloadChars);
  const common = { brokers: kafka.brokers, topic, keys: settings.keys, expected: jobs, work: 'noop' as const, jobMs: 0, latencyFrom: 0, deadlineMs: settings.childTimeoutMs - 15_000 };

  const raw = await ctx.run('kafkajs eachBatch', 'raw-consumer', { ...common, groupId: kafka.group('consume-raw'), parse: false, commit: 'interval' });
  const parsed = await ctx.run('kafkajs eachBatch + JSON.parse', 'raw-consumer', { ...common, groupId: kafka.group('consume-parse'), parse: true, commit: 'interval' });
  const partita = await ctx.run(`Partita worker, ${lanes} lanes`, 'partita-worker', { ...common, groupId: kafka.group('consume-partita'), lanes });
  ctx.partita.consume = partita;
  const metric = `no-op jobs, ${settings.partitions} partitions, ${lanes} lanes (jobs/s)`;
  ctx.add({ workload: 'consume', metric, partita: rate(partita), baselineName: 'kafkajs eachBatch', baseline: rate(raw), better: 'higher', target: '—' });
  ctx.add({ workload: 'consume', metric, partita: rate(partita), baselineName: 'kafkajs eachBatch + JSON.parse', baseline: rate(parsed), better: 'higher', target: '≥ 0.8×' });
}
