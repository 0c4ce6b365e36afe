/**
 * Workload 4, latency: jobs enqueued at a steady rate, each carrying its enqueue time; the worker
 * records now − enqueue time when perform starts. Partita (performLater + worker) against raw
 * kafkajs (sendBatch of what is due + eachBatch that parses the value), committing on a timer and,
 * once more, with kafkajs's default autoCommit. Warm-up jobs are not counted.
 */
import type { WorkerResult } from '../roles/partita-worker.ts';
import type { ChildOutcome } from '../support/child.ts';
import type { BenchContext } from '../support/context.ts';
import { pacedProducer } from '../support/paced-producer.ts';
import type { Figure } from '../support/table.ts';

type Variant = 'partita' | 'raw' | 'raw-autocommit';

const LABELS: Record<Variant, string> = {
  partita: 'Partita',
  raw: 'kafkajs, commits on a timer',
  'raw-autocommit': 'kafkajs, autoCommit after each batch',
};

export async function latencyWorkload(ctx: BenchContext): Promise<void> {
  const { settings, kafka } = ctx;
  const { rate, seconds, warmupSeconds, lanes } = settings.latency;
  const total = rate * seconds;

  const measure = async (variant: Variant): Promise<ChildOutcome<WorkerResult> | undefined> => {
    const label = `${LABELS[variant]}, ${rate}/s for ${seconds} s`;
    const topic = await kafka.createTopic(`latency-${variant}`, settings.partitions);
    const spec = {
      brokers: kafka.brokers,
      topic,
      groupId: kafka.group(`latency-${variant}`),
      keys: settings.keys,
      expected: total,
      work: 'latency' as const,
      jobMs: 0,
      latencyFrom: rate * warmupSeconds,
      deadlineMs: settings.childTimeoutMs - 15_000,
    };
    const worker =
      variant === 'partita'
        ? ctx.start('partita-worker', { ...spec, lanes })
        : ctx.start('raw-consumer', { ...spec, parse: true, commit: variant === 'raw' ? 'interval' : 'auto' });
    const joined = await worker.ready.then(() => true, () => false);
    if (joined) {
      const producer = { brokers: kafka.brokers, topic, keys: settings.keys, payloadChars: settings.payloadChars, rate, total };
      await pacedProducer({ ...producer, kind: variant === 'partita' ? 'partita' : 'raw' }).then(
        (sent) => console.log(`  ${label}: producer kept ${Math.round(sent.perSecond)}/s`),
        (error: unknown) => ctx.fail(`${label}: producer`, error),
      );
    }
    return ctx.settle(label, worker.done);
  };

  const partita = await measure('partita');
  const raw = await measure('raw');
  const autoCommit = await measure('raw-autocommit');
  for (const [variant, outcome] of [['partita', partita], ['raw', raw], ['raw-autocommit', autoCommit]] as const) {
    const percentiles = outcome?.result.latency?.percentiles;
    if (percentiles) ctx.series.latency.push({ name: LABELS[variant], percentiles });
  }
  const at = (outcome: ChildOutcome<WorkerResult> | undefined, q: 'p50' | 'p99' | 'max'): Figure | null => {
    const value = outcome?.result.latency?.[q];
    return outcome && value !== undefined ? { value, peakRssMb: outcome.peakRssBytes / 2 ** 20 } : null;
  };
  const metric = (q: string) => `enqueue → perform start ${q} at ${rate}/s (ms)`;
  const targets = { p50: '≤ 2 ms', p99: '≤ 2×', max: '—' };
  for (const q of ['p50', 'p99', 'max'] as const) {
    ctx.add({ workload: 'latency', metric: metric(q), partita: at(partita, q), baselineName: 'kafkajs sendBatch → eachBatch', baseline: at(raw, q), better: 'lower', target: targets[q] });
  }
  ctx.add({ workload: 'latency', metric: metric('p99'), partita: at(partita, 'p99'), baselineName: 'same, kafkajs autoCommit', baseline: at(autoCommit, 'p99'), better: 'lower', target: '—' });
}
