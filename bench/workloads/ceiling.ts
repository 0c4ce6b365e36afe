/**
 * Workload 6, the broker's ceiling: Kafka's own Java perf tools (kafka-tools, the broker's version)
 * producing and consuming records of the job message's size on a topic with the same partitions.
 * Compared with Partita's async enqueue and no-op consumption: how far the Node side is from Kafka.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rate, type BenchContext } from '../support/context.ts';

const LIB = fileURLToPath(new URL('../../infra/kafka/lib/', import.meta.url));

/** Runs a Kafka tool class; resolves with its stdout. Killed (by pid) after `timeoutMs`. */
function kafkaTool(toolClass: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const tool = spawn('java', ['-Xmx512m', '-cp', `${LIB}*`, toolClass, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    tool.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    tool.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => tool.kill('SIGKILL'), timeoutMs);
    tool.once('error', reject);
    tool.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${toolClass} exited with ${signal ?? code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`));
    });
  });
}

export async function ceilingWorkload(ctx: BenchContext): Promise<void> {
  const { settings, kafka } = ctx;
  const toolsJar = existsSync(LIB) ? readdirSync(LIB).find((name) => /^kafka-tools-[\d.]+\.jar$/.test(name)) : undefined;
  if (!toolsJar) {
    ctx.fail('Kafka perf tools', new Error('infra/kafka/lib has no kafka-tools jar (run bash infra/kafka/start.sh once)'));
    return;
  }
  ctx.versions.kafkaTools = toolsJar.replace(/^kafka-tools-|\.jar$/g, '');
  const { records } = settings.ceiling;
  const recordSize = String(ctx.messageBytes);
  const topic = await kafka.createTopic('ceiling', settings.partitions);
  const brokers = kafka.brokers.join(',');
  let produced: number | undefined;
  let consumed: number | undefined;
  try {
    const out = await kafkaTool(
      'org.apache.kafka.tools.ProducerPerformance',
      ['--topic', topic, '--num-records', String(records), '--record-size', recordSize, '--throughput', '-1', '--producer-props', `bootstrap.servers=${brokers}`, 'acks=all'],
      settings.childTimeoutMs,
    );
    produced = Number(/([\d.]+) records\/sec/.exec(out.trim().split('\n').pop() ?? '')?.[1]);
    console.log(`  ProducerPerformance: ${Math.round(produced)} records/s of ${recordSize} bytes`);
  } catch (error) {
    ctx.fail('ProducerPerformance', error);
  }
  if (produced !== undefined) {
    try {
      // CSV: start, end, MB, MB/s, messages, messages/s, rebalance ms, fetch ms, fetch MB/s, fetch messages/s
      const out = await kafkaTool(
        'org.apache.kafka.tools.ConsumerPerformance',
        ['--bootstrap-server', brokers, '--topic', topic, '--messages', String(records), '--group', kafka.group('ceiling'), '--hide-header', '--timeout', '30000'],
        settings.childTimeoutMs,
      );
      consumed = Number(out.trim().split('\n').pop()?.split(',').pop());
      console.log(`  ConsumerPerformance: ${Math.round(consumed)} records/s (fetch time only)`);
    } catch (error) {
      ctx.fail('ConsumerPerformance', error);
    }
  }
  const java = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? null : { value });
  ctx.add({ workload: 'ceiling', metric: 'performLater, produceAsync (jobs/s)', partita: rate(ctx.partita.enqueueAsync), baselineName: 'Kafka ProducerPerformance', baseline: java(produced), better: 'higher', target: '—' });
  ctx.add({ workload: 'ceiling', metric: 'no-op jobs consumed (jobs/s)', partita: rate(ctx.partita.consume), baselineName: 'Kafka ConsumerPerformance', baseline: java(consumed), better: 'higher', target: '≥ 0.3×' });
}
