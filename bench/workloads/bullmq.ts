/**
 * Workload 5, BullMQ on a local Redis: bulk add against Partita's bulk enqueue, a concurrency-100
 * worker on no-op jobs against Partita's no-op consumption, and the IO-bound jobs with BullMQ's
 * concurrency equal to Partita's lane count.
 */
import { bullAdd } from '../roles/bullmq.ts';
import { ioJobs } from '../settings.ts';
import { rate, type BenchContext } from '../support/context.ts';
import { startRedis } from '../support/redis.ts';

export async function bullmqWorkload(ctx: BenchContext): Promise<void> {
  const { settings } = ctx;
  const redis = await startRedis();
  ctx.versions.redis = redis.version;
  const queue = (name: string) => `bench-${ctx.kafka.runId}-${name}`;
  const deadlineMs = settings.childTimeoutMs - 15_000;
  const common = { redisPort: redis.port, chunk: settings.enqueue.chunk, payloadChars: settings.payloadChars };
  try {
    const { addJobs, workerJobs, concurrency } = settings.bullmq;
    const added = await ctx.run('BullMQ addBulk', 'bullmq-add', { ...common, queue: queue('noop'), jobs: addJobs });
    const noop = await ctx.run(`BullMQ worker, concurrency ${concurrency}, no-op`, 'bullmq-worker', {
      redisPort: redis.port,
      queue: queue('noop'),
      expected: Math.min(workerJobs, addJobs),
      concurrency,
      jobMs: 0,
      deadlineMs,
    });
    ctx.add({ workload: 'bullmq', metric: `bulk enqueue ×${settings.enqueue.chunk}: performAllLater vs addBulk (jobs/s)`, partita: rate(ctx.partita.enqueueAll), baselineName: 'BullMQ addBulk', baseline: rate(added), better: 'higher', target: '—' });
    ctx.add({ workload: 'bullmq', metric: 'no-op jobs consumed (jobs/s)', partita: rate(ctx.partita.consume), baselineName: `BullMQ worker, concurrency ${concurrency}`, baseline: rate(noop), better: 'higher', target: '≥ 5×' });

    const { jobMs } = settings.io;
    for (const lanes of settings.io.lanes) {
      const jobs = ioJobs(settings, lanes);
      const name = queue(`io-${lanes}`);
      await bullAdd({ ...common, queue: name, jobs });
      const io = await ctx.run(`BullMQ worker, concurrency ${lanes}, ${jobMs} ms jobs`, 'bullmq-worker', { redisPort: redis.port, queue: name, expected: jobs, concurrency: lanes, jobMs, deadlineMs });
      ctx.add({ workload: 'bullmq', metric: `IO-bound ${jobMs} ms jobs, ${lanes} lanes = concurrency (jobs/s)`, partita: rate(ctx.partita.io.get(lanes)), baselineName: `BullMQ worker, concurrency ${lanes}`, baseline: rate(io), better: 'higher', target: '—' });
    }
  } finally {
    await redis.stop();
  }
}
