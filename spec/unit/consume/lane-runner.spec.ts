import { expect } from 'chai';
import { Consumer } from '../../../lib/consume/consumer.ts';
import { laneErrors, LaneRunner, type LanePorts } from '../../../lib/consume/lane-runner.ts';
import { Message } from '../../../lib/kafka/inbound-message.ts';
import { WorkerEmitter } from '../../../lib/consume/worker-events.ts';
import type { Dispatcher } from '../../../lib/dispatch/dispatcher.ts';
import type { TransactionHandle } from '../../../lib/job/ports.ts';
import { PartitionerError } from '../../../lib/errors.ts';
import { RoutesBuilder, type RouteDefinition } from '../../../lib/routing/route.ts';

const message = (offset: number, key: string | null = null) =>
  new Message({ topic: 't', partition: 0, offset, key: key === null ? null : Buffer.from(key), value: null, headers: {}, timestamp: 0 });

/** What each consumer instance saw, by instance number. */
interface Seen {
  instance: number;
  lane: number;
  offsets: number[];
  collapsed: boolean;
  committedMetadata: string | null;
}

/**
 * A consumer that records its runs; a message whose key starts with `fail` makes it throw, one
 * with `tx` runs a transaction block, one with `hold` holds fetching while it runs, and
 * every run waits for `gate` (so lanes are seen running together).
 */
function recordingConsumers() {
  const seen: Seen[] = [];
  let instances = 0;
  let gate: Promise<void> = Promise.resolve();
  class Recording extends Consumer {
    readonly instance = (instances += 1);
    async consume(messages: Message[]): Promise<void> {
      seen.push({ instance: this.instance, lane: this.lane, offsets: messages.map((m) => m.offset), collapsed: this.collapsed(), committedMetadata: this.committedMetadata });
      await gate;
      for (const m of messages) {
        const kind = m.key?.split(':')[0];
        if (kind === 'tx') await this.transaction(async () => undefined);
        if (kind === 'hold') this.context.holdFetching(true);
        if (kind === 'fail') throw new Error(`failed at ${m.offset}`);
      }
    }
  }
  return { seen, create: () => new Recording(), setGate: (next: Promise<void>) => (gate = next), instances: () => instances };
}

function route(configure?: Parameters<RoutesBuilder['topic']>[2], kind: 'consumer' | 'jobs' = 'consumer'): RouteDefinition {
  const builder = new RoutesBuilder();
  return (kind === 'jobs' ? builder.activeJobTopic('t', configure) : builder.topic('t', class {}, configure)).routes[0]!;
}

const byKey = (t: Parameters<NonNullable<Parameters<RoutesBuilder['topic']>[2]>>[0]) =>
  t.virtualPartitions({ partitioner: (m) => (m.key === null ? null : m.key.replace(/^(fail|tx|hold):/, '')), maxPartitions: 4, distribution: 'balanced' });

function fakeLanes(routeDefinition: RouteDefinition) {
  const consumers = recordingConsumers();
  const events = new WorkerEmitter();
  const log: string[] = [];
  events.on('lane.started', ({ lane, size }) => log.push(`started:${lane}:${size}`));
  events.on('lane.finished', ({ lane, error, revoked }) => log.push(`finished:${lane}${error ? `:${error.message}:${revoked}` : ''}`));
  events.on('error', ({ error, kind }) => log.push(`error:${kind}:${error instanceof PartitionerError}`));
  const transactions: boolean[] = [];
  const holds: string[] = [];
  const state = { stopped: false, revoked: false, metadata: 'committed-at-assignment' as string | null };
  const abort = new AbortController();
  const ports: LanePorts = {
    topic: 't',
    partition: 0,
    route: routeDefinition,
    createConsumer: consumers.create,
    events,
    signal: abort.signal,
    stopSignal: abort.signal,
    stopped: () => state.stopped,
    revoked: () => state.revoked,
    committedMetadata: () => state.metadata,
    mark: () => true,
    holdFetching: (lane, hold) => holds.push(`${lane}:${hold}`),
    attemptsOf: () => ({ executions: 0, failures: 0, exceptionExecutions: {} }),
    transaction: <T>(body: (tx: TransactionHandle) => Promise<T>, offsetsInTransaction: boolean) => {
      transactions.push(offsetsInTransaction);
      return body({ produce: async () => [], abort: () => undefined });
    },
    dispatcher: () => ({}) as Dispatcher,
  };
  return { runner: new LaneRunner(ports), consumers, log, transactions, holds, state };
}

describe('lane runner (unit)', () => {
  it('without virtual partitions a batch is one lane 0', () => {
    const { runner } = fakeLanes(route());
    const batch = [message(0, 'a'), message(1, 'b')];
    expect(runner.plan(batch)).to.deep.equal({ laneIds: [0], lanes: [batch] });
  });

  it('a throwing partitioner is reported and the batch runs as one lane', () => {
    const { runner, log } = fakeLanes(route((t) => t.virtualPartitions({ partitioner: () => { throw new Error('no key'); }, maxPartitions: 3 })));
    const plan = runner.plan([message(0), message(1)]);
    expect(plan.lanes.map((lane) => lane.map((m) => m.offset))).to.deep.equal([[0, 1]]);
    expect(log).to.deep.equal(['error:partitioner:true']);
  });

  it('runs lanes together, each to its end: a failing lane stops no sibling, one outcome per lane in plan order', async () => {
    const { runner, consumers, log } = fakeLanes(route(byKey));
    let open!: () => void;
    consumers.setGate(new Promise((resolve) => (open = resolve)));
    const plan = runner.plan([message(0, 'a'), message(1, 'b'), message(2, 'fail:a'), message(3, 'b')]);
    expect(plan.lanes.map((lane) => lane.map((m) => m.offset))).to.deep.equal([[0, 2], [1, 3]]);
    const running = runner.run(plan, false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(runner.running, 'both lanes run at once').to.equal(2);
    open();
    const outcomes = await running;
    expect(runner.running).to.equal(0);
    expect(outcomes.map((outcome) => (outcome.ran ? outcome.error?.message ?? 'returned' : 'never ran'))).to.deep.equal(['failed at 2', 'returned']);
    expect(laneErrors(outcomes).map((error) => error.message)).to.deep.equal(['failed at 2']);
    expect(log.filter((line) => line.startsWith('started'))).to.deep.equal(['started:0:2', 'started:1:2']);
    expect(log.filter((line) => line.startsWith('finished')).sort()).to.deep.equal(['finished:0:failed at 2:false', 'finished:1']);
  });

  it('each lane keeps its own consumer across batches; the context says lane, collapsed and the committed metadata', async () => {
    const { runner, consumers } = fakeLanes(route(byKey));
    await runner.run(runner.plan([message(0, 'a'), message(1, 'b')]), false);
    await runner.run({ laneIds: [0], lanes: [[message(2, 'a'), message(3, 'b')]] }, true);
    expect(consumers.instances()).to.equal(2);
    expect(consumers.seen).to.deep.equal([
      { instance: 1, lane: 0, offsets: [0], collapsed: false, committedMetadata: 'committed-at-assignment' },
      { instance: 2, lane: 1, offsets: [1], collapsed: false, committedMetadata: 'committed-at-assignment' },
      { instance: 1, lane: 0, offsets: [2, 3], collapsed: true, committedMetadata: 'committed-at-assignment' },
    ]);
  });

  it('no lane starts once the partition stops: no consumer, no event', async () => {
    const { runner, consumers, log, state } = fakeLanes(route());
    state.stopped = true;
    expect(await runner.run(runner.plan([message(0)]), false)).to.deep.equal([{ ran: false }]);
    expect([consumers.instances(), log]).to.deep.equal([0, []]);
  });

  it('a lane that fails after a revocation says so in lane.finished', async () => {
    const { runner, log, state } = fakeLanes(route());
    const running = runner.run(runner.plan([message(0, 'fail')]), false);
    state.revoked = true;
    await running;
    expect(log).to.deep.equal(['started:0:1', 'finished:0:failed at 0:true']);
  });

  it('marks join a transaction without lanes or when collapsed, not with parallel lanes; lanes hold fetching by their id', async () => {
    const { runner, transactions, holds } = fakeLanes(route(byKey));
    await runner.run(runner.plan([message(0, 'tx:a'), message(1, 'hold:b')]), false);
    await runner.run({ laneIds: [0], lanes: [[message(2, 'tx:a')]] }, true);
    const plain = fakeLanes(route());
    await plain.runner.run(plain.runner.plan([message(0, 'tx')]), false);
    expect([...transactions, ...plain.transactions]).to.deep.equal([false, true, true]);
    expect(holds).to.deep.equal(['1:true']);
  });

  it('automatic marks: the last message of each lane that returned, on plain consumers without manual offsets only', async () => {
    const batch = [message(0, 'a'), message(1, 'b'), message(2, 'fail:a'), message(3, 'b')];
    const plain = fakeLanes(route(byKey));
    const plan = plain.runner.plan(batch);
    const outcomes = await plain.runner.run(plan, false);
    expect(plain.runner.automaticMarks(plan, outcomes)).to.deep.equal([{ offset: 3, metadata: null }]);
    expect(plain.runner.automaticMarks(plan, [{ ran: false }, { ran: false }])).to.deep.equal([]);
    const manual = fakeLanes(route((t) => byKey(t).manualOffsetManagement()));
    expect(manual.runner.automaticMarks(plan, outcomes)).to.deep.equal([]);
    const jobs = fakeLanes(route(undefined, 'jobs'));
    expect(jobs.runner.automaticMarks(plan, outcomes)).to.deep.equal([]);
  });
});
