import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SOURCE_CLI } from '../support/cli.ts';
import { committedOffsets, createTopic, testBrokers, unique, visibleValues, waitFor } from '../support/kafka.ts';
import { produceRaw } from '../support/produce.ts';
import { exited } from '../support/worker-process.ts';

const WORKER = fileURLToPath(new URL('../support/tx-worker.ts', import.meta.url));
const INPUTS = 5000;

/** A small deterministic generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

async function progress(group: string, topic: string): Promise<number> {
  const committed = await committedOffsets(group, topic);
  return [...committed.values()].reduce((sum, c) => sum + Math.max(c.offset, 0), 0);
}

async function crashRun(mode: 'plain' | 'batch' | 'vp'): Promise<{ copies: string[]; javaCopies: string[]; kills: number }> {
  const input = await createTopic(unique(`crash-${mode}-in`), 2);
  const output = await createTopic(unique(`crash-${mode}-out`), 2);
  const group = unique('group');
  await produceRaw(input, Array.from({ length: INPUTS }, (_, n) => ({ key: `key-${n % 50}`, value: String(n), partition: n % 2 })), 2500);
  const env = { ...process.env, INPUT: input, OUTPUT: output, GROUP: group, MODE: mode, KAFKA_BROKERS: testBrokers().join(',') };
  const next = random(mode.length * 7919);
  let kills = 0;
  let worker: ChildProcess | undefined;
  try {
    for (let round = 0; round < 5; round += 1) {
      worker = spawn(process.execPath, [...SOURCE_CLI, 'worker', WORKER], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      const target = Math.min(INPUTS - 1, (await progress(group, input)) + 200 + Math.floor(next() * 600));
      await waitFor(async () => (await progress(group, input)) >= target, { what: `round ${round}: progress ${target}`, timeoutMs: 60_000, intervalMs: 20 });
      await new Promise((resolve) => setTimeout(resolve, Math.floor(next() * 150)));
      worker.kill('SIGKILL');
      await exited(worker);
      kills += 1;
    }
    worker = spawn(process.execPath, [...SOURCE_CLI, 'worker', WORKER], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    await waitFor(async () => (await progress(group, input)) === INPUTS, { what: 'every input committed', timeoutMs: 120_000, intervalMs: 200 });
    worker.kill('SIGTERM');
    await exited(worker);
  } finally {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGKILL');
      await exited(worker);
    }
  }
  return { copies: await visibleValues(output), javaCopies: await readCommittedWithJava(output), kills };
}

/**
 * The topic as Kafka's own read_committed console consumer sees it: an independent check of the
 * kafkajs-based reader. It stops after 15 s without a record (its start and group join count: 5 s was too short at load 25); its log lines are left out.
 */
function readCommittedWithJava(topic: string): Promise<string[]> {
  const jars = fileURLToPath(new URL('../../infra/kafka/lib/', import.meta.url));
  const child = spawn('java', ['-cp', `${jars}*`, 'org.apache.kafka.tools.consumer.ConsoleConsumer', '--bootstrap-server', testBrokers()[0]!, '--topic', topic, '--from-beginning', '--isolation-level', 'read_committed', '--timeout-ms', '15000'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', () => resolve(output.split('\n').filter((line) => /^\d+@\d+$/.test(line)))));
}

function summarize(copies: string[]): { distinct: number; repeats: number } {
  return { distinct: new Set(copies).size, repeats: copies.length - new Set(copies).size };
}

describe('transactions under SIGKILL (broker, worker processes)', function () {
  this.timeout(600_000);

  for (const mode of ['plain', 'batch'] as const) {
    it(`${mode === 'plain' ? 'without lanes' : "transactionScope 'batch'"}: killed five times, a read_committed reader sees every input exactly once`, async () => {
      const { copies, javaCopies, kills } = await crashRun(mode);
      const { distinct, repeats } = summarize(copies);
      process.stdout.write(`      ${mode}: ${kills} kills, ${copies.length} copies, ${distinct} distinct, ${repeats} repeats (Kafka's console consumer: ${javaCopies.length})\n`);
      expect(kills).to.equal(5);
      expect(distinct).to.equal(INPUTS);
      expect(repeats).to.equal(0);
      expect(javaCopies.sort()).to.deep.equal([...copies].sort());
    });
  }

  it('default lanes: every input at least once, repeats only from kills between a commit and its marks', async () => {
    const { copies, kills } = await crashRun('vp');
    const { distinct, repeats } = summarize(copies);
    process.stdout.write(`      vp: ${kills} kills, ${copies.length} copies, ${distinct} distinct, ${repeats} repeats\n`);
    expect(distinct).to.equal(INPUTS);
    // Each kill can repeat at most what was committed but not yet marked and committed as offset:
    // bounded by the lanes' in-flight batches (8 lanes × 2 partitions × maxBatchSize 100).
    expect(repeats).to.be.at.most(kills * 2 * 100);
  });
});
