import { expect } from 'chai';
import { Consumer } from '../../lib/consume/consumer.ts';
import type { Message } from '../../lib/kafka/inbound-message.ts';
import { TransactionError } from '../../lib/errors.ts';
import { stopApps, testApp } from '../support/app.ts';
import { Gate } from '../support/gate.ts';
import { committedOffsets, createTopic, unique, visibleValues, waitFor } from '../support/kafka.ts';
import { produceRaw } from '../support/produce.ts';

const shortGroup = { sessionTimeout: 3000, rebalanceTimeout: 4000, heartbeatInterval: 500 };

describe('transactions (broker)', function () {
  this.timeout(120_000);
  afterEach(stopApps);

  it('T1: output and offset commit together; a read_committed reader sees nothing before, everything after', async () => {
    const [input, output] = [await createTopic(unique('t1-in'), 1), await createTopic(unique('t1-out'), 1)];
    const groupId = unique('group');
    const gate = new Gate();
    class Copier extends Consumer {
      async consume(messages: Message[]) {
        await this.transaction(async () => {
          for (const m of messages) {
            await this.produceAsync({ topic: output, key: m.key, value: `copy-${m.offset}` });
            this.markAsConsumed(m);
          }
          await gate.wait();
        });
      }
    }
    await produceRaw(input, Array.from({ length: 5 }, (_, n) => ({ key: 'k', value: String(n), partition: 0 })));
    const app = testApp({ groupId, maxBatchSize: 10 }).routes((r) => r.topic(input, Copier, (t) => t.manualOffsetManagement()));
    await app.run();
    await waitFor(() => gate.entered === 1, { what: 'the block to be open' });
    expect(await visibleValues(output, { uncommitted: true }), 'produced, not committed').to.have.length(5);
    // The transaction is open: read_committed readers stop before it, so read them after it ends.
    const before = (await committedOffsets(groupId, input)).get(0)!.offset;
    gate.open();
    await waitFor(async () => (await committedOffsets(groupId, input)).get(0)?.offset === 5, { what: 'the offset in the transaction' });
    expect(before).to.equal(-1);
    expect(await visibleValues(output)).to.deep.equal([0, 1, 2, 3, 4].map((n) => `copy-${n}`));
  });

  it('T2: a throw inside the block rolls back its messages and marks; the retry commits once', async () => {
    const [input, output] = [await createTopic(unique('t2-in'), 1), await createTopic(unique('t2-out'), 1)];
    const groupId = unique('group');
    let attempts = 0;
    class Flaky extends Consumer {
      async consume(messages: Message[]) {
        await this.transaction(async (tx) => {
          attempts += 1;
          for (const m of messages) {
            await tx.produce({ topic: output, key: m.key, value: `copy-${m.offset}`, headers: {} });
            this.markAsConsumed(m);
          }
          if (attempts === 1) throw new Error('fails after producing');
        });
      }
    }
    await produceRaw(input, Array.from({ length: 3 }, (_, n) => ({ key: 'k', value: String(n), partition: 0 })));
    const app = testApp({ groupId, backoff: { timeout: 100 } }).routes((r) => r.topic(input, Flaky, (t) => t.manualOffsetManagement()));
    await app.run();
    await waitFor(async () => (await committedOffsets(groupId, input)).get(0)?.offset === 3, { what: 'the retry to commit' });
    expect(attempts).to.equal(2);
    expect(await visibleValues(output, { uncommitted: true }), 'the aborted copies were written').to.have.length(6);
    expect(await visibleValues(output)).to.deep.equal(['copy-0', 'copy-1', 'copy-2']);
  });

  it('T2: tx.abort() rolls back without failing the batch', async () => {
    const [input, output] = [await createTopic(unique('t2b-in'), 1), await createTopic(unique('t2b-out'), 1)];
    const groupId = unique('group');
    let done = false;
    class Abort extends Consumer {
      async consume(messages: Message[]) {
        await this.transaction(async (tx) => {
          await this.produceSync({ topic: output, value: 'never' });
          this.markAsConsumed(messages[0]!);
          tx.abort();
        });
        done = true;
      }
    }
    await produceRaw(input, [{ key: 'k', value: 'x', partition: 0 }]);
    const app = testApp({ groupId }).routes((r) => r.topic(input, Abort, (t) => t.manualOffsetManagement()));
    await app.run();
    await waitFor(() => done, { what: 'the block' });
    expect(await visibleValues(output)).to.deep.equal([]);
    expect((await committedOffsets(groupId, input)).get(0)!.offset).to.equal(-1);
  });

  it('T3: a nested transaction is refused with a clear error', async () => {
    const input = await createTopic(unique('t3'), 1);
    let error: unknown;
    class Nested extends Consumer {
      async consume() {
        await this.transaction(async () => {
          try {
            await this.transaction(async () => undefined);
          } catch (e) {
            error = e;
          }
        });
      }
    }
    await produceRaw(input, [{ key: 'k', value: 'x', partition: 0 }]);
    const app = testApp().routes((r) => r.topic(input, Nested));
    await app.run();
    await waitFor(() => error !== undefined, { what: 'the nested call' });
    expect(error).to.be.instanceOf(TransactionError);
    expect((error as Error).message).to.contain('Nested transactions are not supported');
  });

  it('T4: losing the assignment before the commit aborts the transaction', async () => {
    const [input, output] = [await createTopic(unique('t4-in'), 2), await createTopic(unique('t4-out'), 1)];
    const groupId = unique('group');
    const outcomes = new Map<number, unknown>();
    const holding = new Set<number>();
    class Holder extends Consumer {
      async consume(messages: Message[]) {
        try {
          await this.transaction(async () => {
            await this.produceAsync({ topic: output, value: `from-${this.partition}` });
            this.markAsConsumed(messages[0]!);
            holding.add(this.partition);
            await new Promise<void>((resolve) => {
              if (this.signal.aborted) resolve();
              this.signal.addEventListener('abort', () => resolve());
            });
          });
          outcomes.set(this.partition, 'committed');
        } catch (error) {
          outcomes.set(this.partition, error);
        }
      }
    }
    await produceRaw(input, [0, 1].map((partition) => ({ key: 'k', value: 'x', partition })));
    const first = testApp({ groupId, consumer: shortGroup, shutdownTimeoutMs: 500 }).routes((r) => r.topic(input, Holder, (t) => t.manualOffsetManagement()));
    await first.run();
    await waitFor(() => holding.size === 2, { what: 'both blocks open' });
    const second = testApp({ groupId, consumer: shortGroup }).routes((r) => r.topic(input, class extends Consumer { consume() {} }, (t) => t.manualOffsetManagement()));
    await second.run();
    await waitFor(() => outcomes.size > 0, { what: 'a revoked block to end' });
    const [partition, outcome] = [...outcomes][0]!;
    expect(outcome).to.be.instanceOf(TransactionError);
    expect((outcome as Error).message).to.contain('revoked before the commit');
    await first.stop();
    expect(await visibleValues(output)).to.not.include(`from-${partition}`);
  });

  it('T5, T6: with lanes the mark is applied after the commit (a separate offset commit); collapsed, the offset is in the transaction', async () => {
    const [input, output] = [await createTopic(unique('t5-in'), 1), await createTopic(unique('t5-out'), 1)];
    const groupId = unique('group');
    let failOnce = true;
    class LaneCopier extends Consumer {
      async consume(messages: Message[]) {
        await this.transaction(async () => {
          for (const m of messages) {
            await this.produceAsync({ topic: output, value: `copy-${m.offset}-${this.collapsed() ? 'collapsed' : 'lanes'}` });
            this.markAsConsumed(m);
          }
          if (this.lane === 1 && failOnce && !this.collapsed()) {
            failOnce = false;
            throw new Error('lane 1 fails once');
          }
        });
      }
    }
    await produceRaw(input, Array.from({ length: 8 }, (_, n) => ({ key: `k-${n % 2}`, value: String(n), partition: 0 })));
    const app = testApp({ groupId, backoff: { timeout: 100 }, maxBatchSize: 100 }).routes((r) =>
      r.topic(input, LaneCopier, (t) =>
        t.manualOffsetManagement().virtualPartitions({ partitioner: (m) => m.key, maxPartitions: 2, reducer: (key) => Number(key.split('-')[1]) }),
      ),
    );
    const plainCommits: number[] = [];
    app.on('batch.committed', (e) => e.offsets.forEach((o) => plainCommits.push(o.offset)));
    await app.run();
    await waitFor(async () => (await committedOffsets(groupId, input)).get(0)?.offset === 8, { what: 'offset 8' });
    // Lane 0 (even offsets) committed its transaction while lane 1 failed: its marks were applied
    // after its commit, and the materialized offset 1 went out as a plain offset commit (T5).
    expect(plainCommits, 'plain commits').to.include(1);
    // The collapsed retry (odd offsets) committed offset 8 inside its transaction (T6).
    expect(plainCommits, 'plain commits').to.not.include(8);
    const copies = await visibleValues(output);
    expect(copies.filter((c) => c.endsWith('lanes')).sort()).to.deep.equal(['copy-0-lanes', 'copy-2-lanes', 'copy-4-lanes', 'copy-6-lanes']);
    expect(copies.filter((c) => c.endsWith('collapsed')).sort()).to.deep.equal(['copy-1-collapsed', 'copy-3-collapsed', 'copy-5-collapsed', 'copy-7-collapsed']);
  });

  it('T7: on a transactional route the dead-letter copy and its mark are one transaction', async () => {
    const input = await createTopic(unique('t7-in'), 1);
    const dlq = unique('t7-dlq');
    const groupId = unique('group');
    class Poison extends Consumer {
      consume(messages: Message[]) {
        if (messages.some((m) => m.value?.toString() === 'bad')) throw new Error('poison');
      }
    }
    await produceRaw(input, [{ key: 'k', value: 'bad', partition: 0 }]);
    const app = testApp({ groupId }).routes((r) => r.topic(input, Poison, (t) => t.transactional().deadLetterQueue({ topic: dlq, maxRetries: 0 })));
    const plainCommits: number[] = [];
    app.on('batch.committed', (e) => e.offsets.forEach((o) => plainCommits.push(o.offset)));
    let deadLettered = false;
    app.on('message.dead-lettered', () => (deadLettered = true));
    await app.run();
    await waitFor(() => deadLettered, { what: 'the dead letter' });
    await waitFor(async () => (await committedOffsets(groupId, input)).get(0)?.offset === 1, { what: 'offset 1' });
    expect(plainCommits, 'the offset went with the transaction').to.not.include(1);
    expect(await visibleValues(dlq)).to.deep.equal(['bad']);
  });

  it("transactionScope 'batch': lanes that never started because the worker stopped are not committed", async () => {
    const input = await createTopic(unique('tb-stop'), 1);
    const groupId = unique('group');
    await produceRaw(input, Array.from({ length: 20 }, (_, n) => ({ key: `k${n % 4}`, value: String(n), partition: 0 })));
    const consumed = new Set<number>();
    class Counter extends Consumer {
      consume(messages: Message[]) {
        for (const message of messages) consumed.add(message.offset);
      }
    }
    const app = testApp({ groupId, maxBufferedMessages: 10_000 }).routes((r) =>
      r.topic(input, Counter, (t) => t.virtualPartitions({ partitioner: (m) => m.key, maxPartitions: 4, transactionScope: 'batch' })),
    );
    let stopping: Promise<void> | undefined;
    // Asked synchronously at the batch's start: the stop lands while the batch's transaction begins.
    app.on('batch.started', () => (stopping ??= app.stop()));
    await app.run();
    await waitFor(() => stopping !== undefined, { what: 'the first batch' });
    await stopping;
    const committed = (await committedOffsets(groupId, input)).get(0)?.offset ?? -1;
    for (let offset = 0; offset < committed; offset += 1) expect(consumed.has(offset), `offset ${offset} is below the committed ${committed}`).to.equal(true);
  });
});
