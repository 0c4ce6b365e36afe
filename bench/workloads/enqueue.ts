/**
 * Workload 1, enqueue: `performLater` (produceAsync; produceSync with many callers in flight) and
 * `Job.performAllLater` against raw kafkajs producing the same messages to the same topic.
 */
import { rate, type BenchContext } from '../support/context.ts';

export async function enqueueWorkload(ctx: BenchContext): Promise<void> {
  const { settings, kafka } = ctx;
  const { jobs, syncJobs, syncInFlight, chunk } = settings.enqueue;
  const topic = await kafka.createTopic('enqueue', settings.partitions);
  const common = { brokers: kafka.brokers, topic, keys: settings.keys, payloadChars: settings.payloadChars, chunk, inFlight: syncInFlight };

  const rawBatch = await ctx.run('kafkajs sendBatch', 'raw-produce', { ...common, jobs, mode: 'batch' });
  const async = await ctx.run('Partita performLater (produceAsync)', 'partita-enqueue', { ...common, jobs, mode: 'async' });
  const all = await ctx.run('Partita performAllLater', 'partita-enqueue', { ...common, jobs, mode: 'all' });
  const sync = await ctx.run(`Partita performLater (produceSync, ${syncInFlight} in flight)`, 'partita-enqueue', { ...common, jobs: syncJobs, mode: 'sync' });
  const rawSend = await ctx.run(`kafkajs send (${syncInFlight} in flight)`, 'raw-produce', { ...common, jobs: syncJobs, mode: 'send' });
  ctx.partita.enqueueAsync = async;
  ctx.partita.enqueueAll = all;

  const batchName = `kafkajs sendBatch ×${chunk}`;
  ctx.add({ workload: 'enqueue', metric: 'performLater, produceAsync (jobs/s)', partita: rate(async), baselineName: batchName, baseline: rate(rawBatch), better: 'higher', target: '≥ 0.95×' });
  ctx.add({ workload: 'enqueue', metric: `performLater, produceSync, ${syncInFlight} in flight (jobs/s)`, partita: rate(sync), baselineName: batchName, baseline: rate(rawBatch), better: 'higher', target: '—' });
  ctx.add({ workload: 'enqueue', metric: `performLater, produceSync, ${syncInFlight} in flight (jobs/s)`, partita: rate(sync), baselineName: `kafkajs send, ${syncInFlight} in flight`, baseline: rate(rawSend), better: 'higher', target: '—' });
  ctx.add({ workload: 'enqueue', metric: `Job.performAllLater ×${chunk} (jobs/s)`, partita: rate(all), baselineName: batchName, baseline: rate(rawBatch), better: 'higher', target: '—' });
}
