import { expect } from 'chai';
import type { CommitSource } from '../../../lib/consume/committer.ts';
import { Consumer } from '../../../lib/consume/consumer.ts';
import { DeadLetterHeaders } from '../../../lib/consume/dead-letter.ts';
import { encodeCommitMetadata } from '../../../lib/consume/done-map.ts';
import { PartitionProcessor, type ProcessorSettings } from '../../../lib/consume/partition-processor.ts';
import { WorkerEmitter, type WorkerEvents } from '../../../lib/consume/worker-events.ts';
import { Dispatcher } from '../../../lib/dispatch/dispatcher.ts';
import { PartitionRevokedError } from '../../../lib/errors.ts';
import type { Message } from '../../../lib/kafka/inbound-message.ts';
import type { Delivery, MessageSender, OutboundMessage } from '../../../lib/kafka/outbound-message.ts';
import type { RawRecord } from '../../../lib/kafka/records.ts';
import { RoutesBuilder } from '../../../lib/routing/route.ts';

const record = (offset: number, value = 'ok', key?: string): RawRecord => ({
  topic: 't',
  partition: 0,
  offset,
  key: key === undefined ? null : Buffer.from(key),
  value: Buffer.from(value),
  headers: {},
  timestamp: 0,
});

/** Two lanes: key `slow` runs in lane 0, every other key in lane 1. */
const slowAndFastLanes = { partitioner: (message: { key: string | null }) => message.key, maxPartitions: 2, reducer: (key: string) => (key === 'slow' ? 0 : 1) };

/** A producer in memory that keeps what it was sent. */
class MemorySender implements MessageSender {
  readonly sent: OutboundMessage[] = [];
  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async send(messages: readonly OutboundMessage[]): Promise<Delivery[]> {
    this.sent.push(...messages);
    return messages.map((message, offset) => ({ topic: message.topic, partition: message.partition ?? 0, offset }));
  }
}

/** Waits for `condition`, failing after 5 s with `what`. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * A processor of partition t/0 over in-memory ports. Its consumer marks each message it finishes;
 * a message whose value is `poison` throws, one whose value is `wait` waits for `release()`.
 */
function fakeProcessor(configure: Parameters<RoutesBuilder['topic']>[2], settings: Partial<ProcessorSettings> = {}, { readsCommits = true } = {}) {
  const log: string[] = [];
  const commits: number[] = [];
  const commitRequests: CommitSource[] = [];
  const calls: string[] = [];
  const signals: AbortSignal[] = [];
  const consumed: number[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  class Marking extends Consumer {
    async consume(messages: Message[]): Promise<void> {
      signals.push(this.signal);
      for (const message of messages) {
        const value = message.value?.toString();
        if (value === 'wait') await released;
        if (value === 'poison') throw new Error(`poison at ${message.offset}`);
        consumed.push(message.offset);
        this.markAsConsumed(message);
      }
    }
  }
  const events = new WorkerEmitter();
  const sender = new MemorySender();
  const dispatcher = new Dispatcher(sender, { lingerMs: 0 });
  const told = (name: keyof WorkerEvents, line: (payload: never) => string) => events.on(name, (payload) => log.push(`${name} ${line(payload as never)}`.trim()));
  told('batch.started', (p: WorkerEvents['batch.started']) => `${p.firstOffset}..${p.lastOffset} attempt ${p.attempt}${p.collapsed ? ' collapsed' : ''}`);
  told('batch.failed', (p: WorkerEvents['batch.failed']) => `${p.error.message} retry in ${p.retryInMs}`);
  told('batch.completed', (p: WorkerEvents['batch.completed']) => `${p.firstOffset}..${p.lastOffset}`);
  told('message.dead-lettered', (p: WorkerEvents['message.dead-lettered']) => `${p.offset} after ${p.attempts}`);
  told('partition.paused', (p: WorkerEvents['partition.paused']) => p.reason);
  told('partition.resumed', () => '');
  told('partition.revoked', (p: WorkerEvents['partition.revoked']) => `running ${p.runningLanes}`);
  told('partition.inherited', (p: WorkerEvents['partition.inherited']) => `${p.offset} finished ${p.finished}`);
  const route = new RoutesBuilder().topic('t', Marking, configure).routes[0]!;
  const processor = new PartitionProcessor(
    {
      route,
      topic: 't',
      partition: 0,
      backoff: { timeout: 1, maxTimeout: 1, exponentialBackoff: false },
      maxBufferedMessages: 100,
      maxBatchSize: 100,
      committedAtAssignment: Promise.resolve(undefined),
      fetchCommitted: async () => undefined,
      groupId: 'g',
      deadLetterPartitions: 1,
      deadLetterMaxMessageBytes: 1_048_588,
      ...settings,
    },
    {
      createConsumer: () => new Marking(),
      pausePartition: () => calls.push('pause'),
      resumePartition: () => calls.push('resume'),
      // Every request is read at once, as if the committer sent it (unless `readsCommits` is false).
      commit: (source: CommitSource) => {
        commitRequests.push(source);
        const position = readsCommits ? source.position() : undefined;
        if (position) commits.push(position.offset);
      },
      committedInTransaction: () => calls.push('committed in transaction'),
      transactionalSender: () => {
        throw new Error('not a transactional route');
      },
      dispatcher: () => dispatcher,
      events,
    },
  );
  return { processor, log, commits, commitRequests, calls, sender, signals, consumed, release: () => release() };
}

describe('partition processor over in-memory ports (unit)', () => {
  it('retries a failed batch collapsed after the backoff, dead-letters the poison message, and goes on with the rest', async () => {
    const { processor, log, commits, sender, consumed } = fakeProcessor((t) => t.deadLetterQueue({ topic: 't.dlq', maxRetries: 1 }));
    processor.enqueue([record(0), record(1, 'poison'), record(2)]);
    await until(() => log.some((line) => line.startsWith('batch.completed')), 'the batch to complete');
    expect(log.filter((line) => !line.startsWith('partition.'))).to.deep.equal([
      'batch.started 0..2 attempt 1',
      'batch.failed poison at 1 retry in 1',
      'batch.started 0..2 attempt 2 collapsed',
      'message.dead-lettered 1 after 2',
      'batch.started 0..2 attempt 3 collapsed',
      'batch.completed 0..2',
    ]);
    expect(log.filter((line) => line.startsWith('partition.'))).to.deep.equal(['partition.paused backoff', 'partition.resumed']);
    expect(sender.sent.map((copy) => copy.headers[DeadLetterHeaders.sourceOffset])).to.deep.equal(['1']);
    expect(consumed, 'the collapsed retries do not run 0 again').to.deep.equal([0, 2]);
    expect(commits[commits.length - 1]).to.equal(3);
  });

  it('no batch barrier: a free lane runs the next batch of its keys while a slow lane still runs, and the commit waits for the slow one', async () => {
    const { processor, log, commits, consumed, release } = fakeProcessor((t) => t.virtualPartitions(slowAndFastLanes), { maxBatchSize: 2 });
    processor.enqueue([record(0, 'wait', 'slow'), record(1, 'ok', 'fast')]);
    await until(() => consumed.includes(1), 'the fast lane');
    processor.enqueue([record(2, 'ok', 'fast'), record(3, 'ok', 'slow')]);
    await until(() => consumed.includes(2), 'the fast lane to take the next batch');
    expect(consumed, 'the slow key waits in its lane').to.deep.equal([1, 2]);
    expect(commits, 'nothing passes the unfinished offset 0').to.deep.equal([]);
    release();
    await until(() => commits.includes(4), 'the commit of every message');
    expect(consumed).to.deep.equal([1, 2, 0, 3]);
    expect(log.filter((line) => line.startsWith('batch.'))).to.deep.equal(['batch.started 0..1 attempt 1', 'batch.started 2..3 attempt 1', 'batch.completed 0..1', 'batch.completed 2..3']);
  });

  it('fast lanes run ahead of a slow one at most 10 × maxBufferedMessages tracked messages: then fetching pauses (run-ahead, no error)', async () => {
    const { processor, log, consumed, commits, release } = fakeProcessor((t) => t.virtualPartitions(slowAndFastLanes), { maxBufferedMessages: 2 });
    processor.enqueue([record(0, 'wait', 'slow'), ...Array.from({ length: 24 }, (_, n) => record(n + 1, 'ok', 'fast'))]);
    await until(() => consumed.length === 24, 'the fast lane');
    expect(log.filter((line) => line.startsWith('partition.')).slice(-1)).to.deep.equal(['partition.paused run-ahead']);
    release();
    await until(() => commits.includes(25), 'the commit of every message');
    expect(log.filter((line) => line.startsWith('partition.')).slice(-1)).to.deep.equal(['partition.resumed']);
  });

  it('after a failure no run starts until the running lanes ended, then the handed-out window retries collapsed', async () => {
    const lanes = (t: Parameters<NonNullable<Parameters<RoutesBuilder['topic']>[2]>>[0]) => t.virtualPartitions(slowAndFastLanes).deadLetterQueue({ topic: 't.dlq', maxRetries: 1 });
    const { processor, log, consumed, sender, commits, release } = fakeProcessor(lanes, { maxBatchSize: 2 });
    processor.enqueue([record(0, 'wait', 'slow'), record(1, 'poison', 'fast')]);
    await until(() => processor.runningLanes === 1, 'the fast lane to fail');
    processor.enqueue([record(2, 'ok', 'fast')]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(consumed, 'nothing starts while the failure waits for the slow lane').to.deep.equal([]);
    release();
    await until(() => commits.includes(3), 'the commit of every message');
    expect(consumed).to.deep.equal([0, 2]);
    expect(sender.sent.map((copy) => copy.headers[DeadLetterHeaders.sourceOffset])).to.deep.equal(['1']);
    expect(log.filter((line) => line.startsWith('batch.') || line.startsWith('message.'))).to.deep.equal([
      'batch.started 0..1 attempt 1',
      'batch.failed poison at 1 retry in 1',
      'batch.started 0..1 attempt 2 collapsed',
      'message.dead-lettered 1 after 2',
      'batch.completed 0..1',
      'batch.started 2..2 attempt 1',
      'batch.completed 2..2',
    ]);
  });

  it('a longRunningJob() route holds fetching while its batch runs', async () => {
    const { processor, log, calls, release } = fakeProcessor((t) => t.longRunningJob());
    processor.enqueue([record(0, 'wait')]);
    await until(() => calls.length === 1, 'the pause');
    expect(log).to.deep.equal(['batch.started 0..0 attempt 1', 'partition.paused long-running']);
    release();
    await until(() => log.includes('batch.completed 0..0'), 'the batch to complete');
    expect(calls).to.deep.equal(['pause', 'resume']);
  });

  it('holds fetching while maxBufferedMessages wait and lets go when the queue is down to half', async () => {
    const { processor, calls, release, commits } = fakeProcessor(undefined, { maxBatchSize: 1, maxBufferedMessages: 2 });
    processor.enqueue([record(0, 'wait'), record(1), record(2)]);
    expect(calls).to.deep.equal(['pause']);
    await until(() => processor.runningLanes === 1, 'the first lane');
    expect(processor.buffered).to.equal(2);
    release();
    await until(() => commits.includes(3), 'the commit of every message');
    expect(calls).to.deep.equal(['pause', 'resume']);
  });

  it('on revocation the running lane sees its signal abort, queued batches never start, and nothing more is committed', async () => {
    const { processor, log, commits, signals, release } = fakeProcessor(undefined, { maxBatchSize: 1 });
    processor.enqueue([record(0, 'wait'), record(1)]);
    await until(() => processor.runningLanes === 1, 'the first lane');
    expect(processor.buffered).to.equal(1);
    processor.revoke();
    expect(signals[0]!.reason).to.be.instanceOf(PartitionRevokedError);
    expect(processor.buffered, 'queued work is dropped').to.equal(0);
    release();
    await until(() => !processor.busy, 'the loop to end');
    processor.enqueue([record(2)]);
    expect(log.filter((line) => line.startsWith('batch.started'))).to.deep.equal(['batch.started 0..0 attempt 1']);
    expect(log).to.include('partition.revoked running 1');
    expect(commits).to.deep.equal([]);
  });

  it("skips what the previous owner's done-map lists as finished", async () => {
    const committed = { offset: 5, metadata: encodeCommitMetadata({ offset: 5, metadata: null, finished: [6, 8] }).metadata };
    const { processor, log, commits, consumed } = fakeProcessor(undefined, { committedAtAssignment: Promise.resolve(committed) });
    processor.enqueue([5, 6, 7, 8, 9].map((offset) => record(offset)));
    await until(() => commits.includes(10), 'the commit past the batch');
    expect(log.filter((line) => line.startsWith('batch.started') || line.startsWith('partition.inherited'))).to.deep.equal([
      'partition.inherited 5 finished 2',
      'batch.started 5..9 attempt 1',
    ]);
    expect(consumed).to.deep.equal([5, 7, 9]);
  });

  it('asks for a commit once while the committer has not read the position, and works the position out when it does', async () => {
    const { processor, log, commitRequests } = fakeProcessor(undefined, { maxBatchSize: 10 }, { readsCommits: false });
    processor.enqueue([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((offset) => record(offset)));
    await until(() => log.includes('batch.completed 0..9'), 'the batch to complete');
    expect(commitRequests, 'ten marks and the batch end, one request').to.have.length(1);
    expect(commitRequests[0]!.position()?.offset).to.equal(10);
    processor.enqueue([record(10)]);
    await until(() => log.includes('batch.completed 10..10'), 'the next batch');
    expect(commitRequests, 'asked again once the position was read').to.have.length(2);
    expect(commitRequests[1]!.position()?.offset).to.equal(11);
  });
});
