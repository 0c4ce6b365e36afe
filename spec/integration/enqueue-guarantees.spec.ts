import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { closeDispatcher, configure, useDispatcher } from '../../lib/dispatch/default-dispatcher.ts';
import { Dispatcher } from '../../lib/dispatch/dispatcher.ts';
import { JobsLostError } from '../../lib/errors.ts';
import { Job } from '../../lib/job/job.ts';
import { createKafka } from '../../lib/kafka/client.ts';
import { KafkaProducerSender } from '../../lib/kafka/producer.ts';
import { createLogger } from '../../lib/logging/logger.ts';
import { stopApps, testApp } from '../support/app.ts';
import { SOURCE_CLI } from '../support/cli.ts';
import { committedOffsets, createTopic, endOffsets, readAll, testBrokers, unique, waitFor } from '../support/kafka.ts';
import { exited } from '../support/worker-process.ts';

const SCRIPT = fileURLToPath(new URL('../support/enqueue-script.ts', import.meta.url));
const FAN_OUT_WORKER = fileURLToPath(new URL('../support/fan-out-worker.ts', import.meta.url));

interface Child {
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
}

const children: ChildProcess[] = [];

function run(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, args, { env: { ...process.env, KAFKA_BROKERS: testBrokers().join(','), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { process: child, stdout: () => stdout, stderr: () => stderr };
}

function script(args: string[], env: Record<string, string> = {}): Child {
  return run(['--import', 'tsx', SCRIPT, ...args], env);
}

/** Resolves with the exit code, or fails after `timeoutMs` (the child is then killed in `after`). */
async function exitCode(child: Child, timeoutMs: number, what: string): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not exit within ${timeoutMs} ms; stdout: ${child.stdout()} stderr: ${child.stderr()}`)), timeoutMs);
  });
  try {
    return await Promise.race([exited(child.process), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function total(topic: string): Promise<number> {
  return [...(await endOffsets(topic)).values()].reduce((a, b) => a + b, 0);
}

/** A local port nobody listens on. */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('enqueue guarantees (broker)', function () {
  afterEach(stopApps);
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('E2: produceAsync to an unreachable broker: closeDispatcher() rejects naming the lost jobs; the script exits non-zero with one line', async () => {
    const child = script(['lost', 'unused', '3'], { KAFKA_BROKERS: `127.0.0.1:${await unusedPort()}` });
    const code = await exitCode(child, 90_000, 'the lost-jobs script');
    const accepted = [...child.stdout().matchAll(/^accepted (\S+)$/gm)].map((m) => m[1]!);
    expect(accepted).to.have.length(3);
    const rejected = /^rejected (\S+) (\S*)$/m.exec(child.stdout());
    expect(rejected, `closeDispatcher() resolved: ${child.stdout()}`).to.not.equal(null);
    expect(rejected![1]).to.equal('JobsLostError');
    expect(rejected![2]!.split(',').sort()).to.deep.equal([...accepted].sort());
    expect(code, child.stderr()).to.equal(1);
    const exitLines = child.stderr().split('\n').filter((line) => /Exiting with status/.test(line));
    expect(exitLines, child.stderr()).to.have.length(1);
    for (const id of accepted) expect(exitLines[0]).to.contain(`Scripted ${id}`);
  });

  it('E3: a script that enqueues and never calls closeDispatcher() delivers and exits 0 by itself', async () => {
    const topic = await createTopic(unique('e3'), 2);
    const child = script(['forget', topic, '500']);
    const code = await exitCode(child, 60_000, 'a script that never closed its dispatcher');
    expect(child.stdout()).to.contain('enqueued');
    expect(code, child.stderr()).to.equal(0);
    expect(await total(topic)).to.equal(500);
  });

  it('configure() with a host SIGTERM handler: Partita delivers the buffer but leaves exiting to the host', async () => {
    const topic = await createTopic(unique('host-signal'), 2);
    const child = script(['host', topic, '2000']);
    await waitFor(() => child.stdout().includes('buffered'), { timeoutMs: 60_000, what: 'the script to enqueue' });
    expect(child.stdout()).to.contain('buffered 2000');
    child.process.kill('SIGTERM');
    const code = await exitCode(child, 60_000, 'the host script');
    expect(code, `exited by Partita? ${child.stdout()} ${child.stderr()}`).to.equal(3);
    expect(child.stdout()).to.contain('host exits, buffered 0');
    expect(await total(topic)).to.equal(2000);
  });

  it('SIGTERM to a script in a tight performLater loop: every job it was told accepted is on the topic', async () => {
    const topic = await createTopic(unique('sigterm-loop'), 4);
    const child = script(['loop', topic, '50000']);
    await waitFor(() => child.stdout().includes('progress'), { timeoutMs: 60_000, what: 'the loop to accept 5 000 jobs' });
    child.process.kill('SIGTERM');
    const code = await exitCode(child, 90_000, 'the looping script');
    expect(child.stdout(), 'the signal came after the loop ended; the spec proves nothing').to.not.contain('loop finished');
    const accepted = Number(/^accepted (\d+)$/m.exec(child.stdout())?.[1]);
    expect(code, child.stderr()).to.equal(0);
    expect(accepted).to.be.at.least(5000);
    expect(await total(topic)).to.equal(accepted);
    expect(child.stderr()).to.match(/SIGTERM: delivered \d+ buffered messages before exiting/);
  });

  it('a tight await-performLater loop lets requests go out before it ends', async () => {
    const topic = await createTopic(unique('tight-loop'), 2);
    class Tight extends Job<[n: number]> {
      static override options = { topic };
      perform() {}
    }
    const dispatcher = await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
    try {
      await Tight.set({ dispatchMethod: 'produceSync' }).performLater(-1);
      let sentDuringLoop = 0;
      let looping = true;
      dispatcher.on('delivery.sent', ({ messages }) => {
        if (looping) sentDuringLoop += messages;
      });
      for (let n = 0; n < 30_000; n += 1) await Tight.performLater(n);
      looping = false;
      expect(sentDuringLoop, 'nothing was sent while the loop ran').to.be.greaterThan(0);
    } finally {
      await closeDispatcher();
    }
    expect(await total(topic)).to.equal(30_001);
  });

  it('R1: follow-up jobs survive a kill -9 right after the parent’s commit', async () => {
    const topic = await createTopic(unique('r1-parent'), 1);
    const childTopic = await createTopic(unique('r1-children'), 4);
    const group = unique('r1-group');
    const children = 50_000;
    await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
    class FanOut extends Job<[]> {
      static override options = { topic, dispatchMethod: 'produceSync' as const };
      perform() {}
    }
    await FanOut.performLater();
    await closeDispatcher();
    const worker = run([...SOURCE_CLI, 'worker', FAN_OUT_WORKER], { TOPIC: topic, CHILD_TOPIC: childTopic, GROUP: group, CHILDREN: String(children) });
    await waitFor(async () => ((await committedOffsets(group, topic)).get(0)?.offset ?? -1) >= 1, {
      timeoutMs: 120_000,
      intervalMs: 20,
      what: `the parent's commit (worker stderr: ${worker.stderr()})`,
    });
    worker.process.kill('SIGKILL');
    await exited(worker.process);
    expect(worker.stdout()).to.contain('fanned out');
    const onTopic = await total(childTopic);
    expect(onTopic, 'children lost after the parent was committed').to.equal(children);
    const ids = new Set((await readAll(childTopic, children)).map((m) => m.headers['job-id']));
    expect(ids.size).to.equal(children);
  });

  it('a lost follow-up fails its parent, which is not committed and runs again once follow-ups can be delivered', async () => {
    const topic = await createTopic(unique('lost-follow-up'), 1);
    const childTopic = await createTopic(unique('lost-follow-up-children'), 1);
    class Leaf extends Job<[n: number]> {
      static override options = { topic: childTopic };
      perform() {}
    }
    let runs = 0;
    class Parent extends Job<[]> {
      static override options = { topic, dispatchMethod: 'produceSync' as const };
      async perform() {
        runs += 1;
        await Leaf.performLater(runs);
      }
    }
    const unreachable = createKafka({ brokers: [`127.0.0.1:${await unusedPort()}`], logLevel: 'nothing' }, 'spec', createLogger({ level: 'silent' }));
    const nowhere = new Dispatcher(new KafkaProducerSender(unreachable), { deliveryTimeoutMs: 500 });
    nowhere.on('error', () => {});
    const app = testApp({ jobs: [Parent] }).routes((r) => r.activeJobTopic(topic));
    const failures: Error[] = [];
    app.on('batch.failed', ({ error }) => failures.push(error));
    await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
    await Parent.performLater();
    await useDispatcher(nowhere);
    await app.run();
    await waitFor(() => failures.length >= 2, { what: 'the parent to fail twice on its lost follow-up', timeoutMs: 60_000 });
    expect(failures[0]).to.be.instanceOf(JobsLostError);
    expect((failures[0] as JobsLostError).lost[0]).to.include({ jobClass: 'Leaf', topic: childTopic });
    expect((await committedOffsets(app.groupId, topic)).get(0)?.offset ?? -1, 'the parent was committed with its follow-up lost').to.equal(-1);
    await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
    await waitFor(async () => ((await committedOffsets(app.groupId, topic)).get(0)?.offset ?? -1) === 1, { what: 'the parent to commit', timeoutMs: 60_000 });
    expect(await total(childTopic)).to.be.at.least(1);
    await closeDispatcher();
  });
});
