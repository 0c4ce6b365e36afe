/**
 * `npm run bench` (full, about 9 minutes) or `npm run bench -- --quick` (about 2 minutes);
 * `--only=enqueue,consume,...` runs some workloads (later ones reuse earlier Partita figures).
 * Runs each workload against its baseline in the same run, prints the table and writes
 * bench/results/latest.json. See bench/README.md.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startLocalBroker } from '../lib/index.ts';
import { settingsFor } from './settings.ts';
import { writeCharts } from './support/charts.ts';
import { buildChildren } from './support/child.ts';
import { BenchContext } from './support/context.ts';
import { BenchKafka } from './support/kafka.ts';
import { describeMachine } from './support/machine.ts';
import { formatTable } from './support/table.ts';
import { bullmqWorkload } from './workloads/bullmq.ts';
import { ceilingWorkload } from './workloads/ceiling.ts';
import { consumeWorkload } from './workloads/consume.ts';
import { enqueueWorkload } from './workloads/enqueue.ts';
import { ioScalingWorkload } from './workloads/io-scaling.ts';
import { latencyWorkload } from './workloads/latency.ts';
import { operationsWorkload } from './workloads/operations.ts';
import { scaleWorkload } from './workloads/scale.ts';

const WORKLOADS: [string, (ctx: BenchContext) => Promise<void>][] = [
  ['enqueue', enqueueWorkload],
  ['consume', consumeWorkload],
  ['io-scaling', ioScalingWorkload],
  ['latency', latencyWorkload],
  ['operations', operationsWorkload],
  ['bullmq', bullmqWorkload],
  ['ceiling', ceilingWorkload],
  ['scale', scaleWorkload],
];

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

const settings = settingsFor(process.argv.slice(2));
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
const unknown = only?.filter((name) => !WORKLOADS.some(([known]) => known === name)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown workload ${unknown.join(', ')}; known: ${WORKLOADS.map(([name]) => name).join(', ')}`);
  process.exit(2);
}
const selected = WORKLOADS.filter(([name]) => !only || only.includes(name));
const startedAt = new Date();
const machine = describeMachine();
console.log(`partita bench (${settings.mode}): ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, load ${machine.loadAverage}`);

buildChildren();
const broker = await startLocalBroker();
const kafka = new BenchKafka(broker.brokers, `${startedAt.getTime().toString(36)}${process.pid.toString(36)}`);
const ctx = new BenchContext(settings, kafka);
const durations: Record<string, number> = {};
try {
  await kafka.connect();
  console.log(`broker ${broker.brokers.join(',')} (${broker.started ? 'started by this run' : 'already running'}), run id ${kafka.runId}`);
  for (const [name, workload] of selected) {
    if (Date.now() - startedAt.getTime() > settings.runBudgetMs) {
      ctx.fail(name, new Error(`skipped: the run is over its ${settings.runBudgetMs / 60_000} minute budget`));
      continue;
    }
    console.log(`\n== ${name}`);
    const started = performance.now();
    try {
      await workload(ctx);
    } catch (error) {
      ctx.fail(name, error);
    }
    durations[name] = Math.round((performance.now() - started) / 100) / 10;
  }
} finally {
  await kafka.close().catch((error: unknown) => ctx.fail('topic cleanup', error));
  await broker.stop();
}

const seconds = Math.round((Date.now() - startedAt.getTime()) / 1000);
const table = formatTable(ctx.rows);
console.log(`\n${table}\n\n${settings.mode} run: ${seconds} s; message ${ctx.messageBytes} bytes (key + value + headers)`);
if (ctx.errors.length > 0) console.log(`failures:\n${ctx.errors.map((e) => `  - ${e}`).join('\n')}`);

mkdirSync(RESULTS, { recursive: true });
const results = {
  mode: settings.mode,
  startedAt: startedAt.toISOString(),
  seconds,
  workloadSeconds: durations,
  machine,
  loadAverageAtEnd: Math.round(loadavg()[0]! * 100) / 100,
  versions: ctx.versions,
  messageBytes: ctx.messageBytes,
  settings,
  rows: ctx.rows,
  series: ctx.series,
  errors: ctx.errors,
  outcomes: ctx.outcomes,
  table,
};
writeFileSync(`${RESULTS}latest.json.tmp`, `${JSON.stringify(results, null, 2)}\n`);
renameSync(`${RESULTS}latest.json.tmp`, `${RESULTS}latest.json`);
console.log(`results written to bench/results/latest.json; charts ${writeCharts(results, RESULTS).join(', ')}`);
process.exit(ctx.errors.length > 0 ? 1 : 0);
