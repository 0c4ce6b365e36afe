import { expect } from 'chai';
import { DeadLetters, ReplayConflictError, replayMarkTopic, type ReplayResult } from '../../lib/admin/index.ts';
import { replayMarkKey, replayTransactionalId } from '../../lib/admin/replay-marks.ts';
import { Job } from '../../lib/job/job.ts';
import { readTopicSnapshot } from '../../lib/kafka/topic-reader.ts';
import { stopApps, testApp } from '../support/app.ts';
import { runSourceCli } from '../support/cli.ts';
import { createTopic, endOffsets, rawKafka, testBrokers, unique, waitFor } from '../support/kafka.ts';
import { jobMessage, produceRaw } from '../support/produce.ts';


/** Dead letters of jobs written straight to `dlq` partition 0, as a worker would have copied them from `source` partition 0. */
async function fillDeadLetters(dlq: string, source: string, count: number, key = (n: number) => `k${n}`): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, n) => unique(`dl${n}`));
  await produceRaw(
    dlq,
    ids.map((id, n) => {
      const message = jobMessage(source, 'Invoice', id, key(n), [n], 0);
      return { ...message, headers: { ...message.headers, 'source-topic': source, 'source-partition': '0', 'source-offset': String(n), 'source-attempts': '1', 'error-class': 'Error', 'error-message': `failed ${n}` } };
    }),
  );
  return ids;
}

const opened: DeadLetters[] = [];

function deadLetters(): DeadLetters {
  const admin = new DeadLetters({ kafka: { brokers: testBrokers(), logLevel: 'nothing' } });
  opened.push(admin);
  return admin;
}

describe('dead-letter admin API (broker)', function () {
  afterEach(async () => {
    await stopApps();
    await Promise.all(opened.splice(0).map((admin) => admin.close()));
  });

  it('lists the dead letters of a transactional() route, whose markers take offsets, by position', async () => {
    class Invoice extends Job<[id: number]> {
      perform(id: number) {
        throw new RangeError(`invoice ${id} has no customer`);
      }
    }
    const topic = await createTopic(unique('tx-src'), 1);
    const dlq = unique('tx-dlq');
    const ids = [unique('a'), unique('b'), unique('c')];
    await produceRaw(topic, ids.map((id, n) => jobMessage(topic, 'Invoice', id, `inv-${n}`, [n])));
    const app = testApp({ jobs: [Invoice], backoff: { timeout: 20, maxTimeout: 50 } }).routes((r) =>
      r.activeJobTopic(topic, (t) => t.transactional().deadLetterQueue({ topic: dlq, maxRetries: 0 })),
    );
    let deadLettered = 0;
    app.on('message.dead-lettered', () => (deadLettered += 1));
    await app.run();
    await waitFor(() => deadLettered === 3, { what: 'three dead letters' });
    await app.stop();
    expect((await endOffsets(dlq)).get(0), 'each copy commits in its own transaction: a marker after each').to.be.greaterThan(3);

    const page = await deadLetters().page(dlq, { partition: 0 });
    expect(page.entries.map((e) => e.jobId)).to.deep.equal(ids);
    expect(page.next).to.equal(page.end);

    const list = await runSourceCli(['dlq', 'list', dlq, '--brokers', testBrokers().join(',')]);
    expect(list.code, list.stderr).to.equal(0);
    expect(list.stdout).to.contain(`3 dead letters in ${dlq}`);
    for (const id of ids) expect(list.stdout).to.contain(`Invoice ${id}`);
  });

  it('reads a page by offset range: from, limit, next, the end; one entry whole', async () => {
    const dlq = await createTopic(unique('range-dlq'), 2);
    const ids = await fillDeadLetters(dlq, 'range-src', 40);
    const admin = deadLetters();
    const page = await admin.page(dlq, { partition: 0, from: 10, limit: 5 });
    expect(page.entries.map((e) => e.offset)).to.deep.equal([10, 11, 12, 13, 14]);
    expect(page.entries.map((e) => e.jobId)).to.deep.equal(ids.slice(10, 15));
    expect(page).to.deep.include({ from: 10, next: 15, end: 40, low: 0 });
    const last = await admin.page(dlq, { partition: 0, from: page.end - 2, limit: 5 });
    expect(last.entries.map((e) => e.offset)).to.deep.equal([38, 39]);
    expect(last.next).to.equal(40);
    expect((await admin.page(dlq, { partition: 1 })).entries).to.deep.equal([]);
    const detail = await admin.get(dlq, 0, 12);
    expect(detail).to.deep.include({ jobClass: 'Invoice', jobId: ids[12], errorMessage: 'failed 12', arguments: [12], replayed: undefined });
    expect(detail!.source).to.deep.include({ topic: 'range-src', partition: 0, offset: 12 });
    expect(await admin.get(dlq, 0, 40)).to.equal(undefined);
    expect(await admin.counts(dlq)).to.deep.include({ total: 40, replayed: 0, waiting: 40 });
  });

  it('two replays of the same dead letters at once dispatch each one once, and mark it replayed', async () => {
    const source = await createTopic(unique('once-src'), 1);
    const dlq = await createTopic(unique('once-dlq'), 1);
    const ids = await fillDeadLetters(dlq, source, 100);
    const outcomes = await Promise.allSettled([deadLetters().replay(dlq, { all: true }), deadLetters().replay(dlq, { all: true })]);
    for (const outcome of outcomes) if (outcome.status === 'rejected') expect(outcome.reason).to.be.instanceOf(ReplayConflictError);
    const results = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(results.flatMap((r) => r.replayed)).to.have.length(100);

    // The replay's commit markers may land a moment after it returned: until then a read_committed
    // read stops below its records.
    let replayed: Awaited<ReturnType<typeof readTopicSnapshot>> = [];
    await waitFor(async () => (replayed = await readTopicSnapshot(rawKafka(), source)).length >= ids.length, { what: 'the replayed jobs, readable', timeoutMs: 20_000 });
    expect(replayed.map((r) => r.headers['job-id'])).to.deep.equal(ids);
    expect(replayed[99]!.headers['replayed-from']).to.equal(`${dlq}/0@99`);

    const admin = deadLetters();
    const again: ReplayResult = await admin.replay(dlq, { offsets: [{ partition: 0, offset: 5 }] });
    expect(again.replayed).to.deep.equal([]);
    expect(again.skipped).to.have.length(1);
    expect(again.skipped[0]).to.deep.include({ why: 'already-replayed' });
    expect(await admin.counts(dlq)).to.deep.include({ total: 100, replayed: 100, waiting: 0 });
    const entry = (await admin.page(dlq, { partition: 0, from: 99, limit: 1 })).entries[0]!;
    expect(entry.replayed?.to).to.deep.equal({ topic: source, partition: 0, offset: 99 });
    expect((await readTopicSnapshot(rawKafka(), source)).length).to.equal(100);
  });

  it('a replay that crashed halfway, its transaction open, is fenced and aborted by the next one: nothing twice', async () => {
    const source = await createTopic(unique('crash-src'), 1);
    const dlq = await createTopic(unique('crash-dlq'), 1);
    const ids = await fillDeadLetters(dlq, source, 10);
    await createTopic(replayMarkTopic(dlq), 1);
    // The crashed replay: its copy of dead letter 0 and the mark were sent, the commit never came.
    const crashed = rawKafka().producer({ transactionalId: replayTransactionalId(dlq), maxInFlightRequests: 1, idempotent: true });
    await crashed.connect();
    const transaction = await crashed.transaction();
    const [first] = (await readTopicSnapshot(rawKafka(), dlq)).slice(0, 1);
    await transaction.send({ topic: source, messages: [{ key: first!.key, value: first!.value, headers: { 'job-id': ids[0]!, 'replayed-from': `${dlq}/0@0` } }] });
    await transaction.send({ topic: replayMarkTopic(dlq), messages: [{ key: replayMarkKey({ topic: dlq, partition: 0, offset: 0 }), value: '{"at":"2026-01-01T00:00:00.000Z","to":{"topic":"x","partition":0,"offset":0}}', partition: 0 }] });
    await crashed.disconnect();

    const result = await deadLetters().replay(dlq, { all: true });
    expect(result.replayed.map((r) => r.deadLetter.offset)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The abort markers of the crashed transaction may land a moment after the replay returned;
    // without the fencing the transaction would stay open for its 60 s timeout.
    let seen: (string | undefined)[] = [];
    await waitFor(async () => (seen = (await readTopicSnapshot(rawKafka(), source)).map((r) => r.headers['job-id'])).length > 0, { what: 'the replayed jobs, readable', timeoutMs: 20_000 });
    expect(seen).to.deep.equal(ids);
  });

  it('replays every dead letter of one source partition, and only those, keeping per-key order', async () => {
    let broken = true;
    const ran: { key: string; n: number }[] = [];
    class Invoice extends Job<[key: string, n: number]> {
      perform(key: string, n: number) {
        if (broken) throw new Error(`invoice ${n} failed`);
        ran.push({ key, n });
      }
    }
    const topic = await createTopic(unique('order-src'), 2);
    // One dead-letter partition for both source partitions: the replay must pick source partition 0's.
    const dlq = await createTopic(unique('order-dlq'), 1);
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
    await produceRaw(topic, Array.from({ length: 30 }, (_, n) => jobMessage(topic, 'Invoice', unique(`j${n}`), keys[n % keys.length], [keys[n % keys.length]!, n])));
    const app = testApp({ jobs: [Invoice], backoff: { timeout: 20, maxTimeout: 50 } }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 0 })));
    let deadLettered = 0;
    app.on('message.dead-lettered', () => (deadLettered += 1));
    await app.run();
    await waitFor(() => deadLettered === 30, { what: 'thirty dead letters' });

    const admin = deadLetters();
    const chosen = (await admin.page(dlq, { partition: 0, limit: 100 })).entries.filter((e) => e.source.partition === 0);
    expect(chosen.length, 'both source partitions have dead letters').to.be.within(1, 29);

    broken = false;
    const result = await admin.replay(dlq, { source: { topic, partition: 0 } });
    expect(result.replayed.map((r) => r.deadLetter.offset)).to.deep.equal(chosen.map((e) => e.offset));
    await waitFor(() => ran.length === chosen.length, { what: 'the replayed jobs to run' });
    const expected = chosen.map((e) => e.arguments![1] as number);
    expect(ran.map((r) => r.n).sort((a, b) => a - b)).to.deep.equal([...expected].sort((a, b) => a - b));
    for (const key of new Set(ran.map((r) => r.key))) {
      const order = ran.filter((r) => r.key === key).map((r) => r.n);
      expect(order, `jobs of ${key} in the order they failed`).to.deep.equal([...order].sort((a, b) => a - b));
    }
  });
});
