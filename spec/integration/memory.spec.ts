import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SOURCE_CLI } from '../support/cli.ts';
import { createTopic, testBrokers, unique, waitFor } from '../support/kafka.ts';
import { jobMessage, produceRaw } from '../support/produce.ts';
import { exited } from '../support/worker-process.ts';

const WORKER = fileURLToPath(new URL('../support/memory-worker.ts', import.meta.url));
const MB = 1024 * 1024;

describe('bounded memory (broker, worker process)', function () {
  this.timeout(600_000);

  it('drains a backlog of 200 000 jobs with the worker memory flat', async () => {
    const total = 200_000;
    const topic = await createTopic(unique('backlog'), 4);
    for (let start = 0; start < total; start += 20_000) {
      await produceRaw(topic, Array.from({ length: 20_000 }, (_, i) => jobMessage(topic, 'Noop', `job-${start + i}`, `key-${(start + i) % 500}`, [start + i])), 4000);
    }
    const child = spawn(process.execPath, ['--expose-gc', ...SOURCE_CLI, 'worker', WORKER], {
      env: { ...process.env, TOPIC: topic, GROUP: unique('group'), KAFKA_BROKERS: testBrokers().join(',') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const samples: { performed: number; rss: number; heap: number }[] = [];
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const match = /^progress (\d+) (\d+) (\d+)$/.exec(line);
        if (match) samples.push({ performed: Number(match[1]), rss: Number(match[2]), heap: Number(match[3]) });
      }
    });
    try {
      await waitFor(() => (samples.at(-1)?.performed ?? 0) >= total, { what: `${total} jobs (at ${samples.at(-1)?.performed ?? 0})`, timeoutMs: 480_000, intervalMs: 500 });
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
    const during = (from: number, to: number) => samples.filter((s) => s.performed >= from * total && s.performed < to * total);
    const peak = (list: typeof samples, field: 'rss' | 'heap') => Math.max(...list.map((s) => s[field]));
    const early = during(0.1, 0.3);
    const late = during(0.7, 0.95);
    const report = `rss peak ${Math.round(peak(samples, 'rss') / MB)} MB (10-30%: ${Math.round(peak(early, 'rss') / MB)} MB, 70-95%: ${Math.round(peak(late, 'rss') / MB)} MB); heap peak ${Math.round(peak(samples, 'heap') / MB)} MB`;
    process.stdout.write(`      ${report}\n`);
    expect(early.length).to.be.greaterThan(0);
    expect(late.length).to.be.greaterThan(0);
    // The heap is sampled right after a full GC: what the worker holds. The backlog is ~110 MB on
    // the broker; a worker holding it would pass the cap by far. RSS also carries V8's spare
    // pages, so it only gets a loose cap.
    expect(peak(samples, 'heap'), report).to.be.below(120 * MB);
    expect(peak(late, 'heap') - peak(early, 'heap'), report).to.be.below(20 * MB);
    expect(peak(samples, 'rss'), report).to.be.below(350 * MB);
  });
});
