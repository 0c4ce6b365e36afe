import { expect } from 'chai';
import { closeDispatcher, Consumer, InvalidOptionError, Job, type Message, type RoutesBuilder } from '../../../lib/index.ts';
import { ConsumerHarness, useTestDispatcher } from '../../../lib/testing/index.ts';

class ShipOrder extends Job<[orderId: string]> {
  static override options = { topic: 'shipping' };
  async perform(): Promise<void> {}
}

/** Sums order totals, forwards big ones, enqueues shipping for each. */
class Orders extends Consumer {
  readonly seen: unknown[] = [];
  async consume(messages: Message[]): Promise<void> {
    for (const message of messages) {
      const order = message.payload as { id: string; total: number };
      this.seen.push({ key: message.key, order, source: message.headers.source, topic: this.topic, partition: this.partition });
      if (order.total > 100) await this.produceSync({ topic: 'big-orders', key: order.id, value: order, headers: { source: 'orders' } });
      await ShipOrder.performLater(order.id);
    }
  }
}

/** Marks each message itself, with the running count as metadata; fails on a poison message. */
class Counter extends Consumer {
  count = 0;
  async consume(messages: Message[]): Promise<void> {
    for (const message of messages) {
      if (message.value?.toString() === 'poison') throw new Error(`poison at offset ${message.offset}`);
      this.count += 1;
      this.markAsConsumed(message, String(this.count));
    }
  }
}

describe('partita/testing: ConsumerHarness', () => {
  afterEach(() => closeDispatcher());

  it('feeds a consumer fake messages and records the automatic mark and what it produced', async () => {
    const testing = await useTestDispatcher({ jobs: [ShipOrder] });
    const harness = new ConsumerHarness(Orders, { topic: 'orders', partition: 3, dispatcher: testing });

    await harness.consume([
      { key: 'o-1', value: { id: 'o-1', total: 12 }, headers: { source: 'web' } },
      { key: 'o-2', value: { id: 'o-2', total: 250 } },
    ]);

    expect(harness.consumer.seen).to.deep.equal([
      { key: 'o-1', order: { id: 'o-1', total: 12 }, source: 'web', topic: 'orders', partition: 3 },
      { key: 'o-2', order: { id: 'o-2', total: 250 }, source: undefined, topic: 'orders', partition: 3 },
    ]);
    expect(harness.marks).to.deep.equal([{ offset: 1, metadata: null }]);
    expect(harness.produced.map((m) => m.topic)).to.deep.equal(['shipping', 'big-orders', 'shipping']);
    expect(harness.produced[1]).to.deep.include({ key: 'o-2', value: '{"id":"o-2","total":250}', headers: { source: 'orders' } });
    testing.assertEnqueuedWith(ShipOrder, { args: ['o-2'], topic: 'shipping' });

    await harness.consume([{ value: { id: 'o-3', total: 1 } }]);
    expect(harness.markedOffsets).to.deep.equal([1, 2]);
  });

  it('records manual marks with metadata, and leaves a failed batch unmarked', async () => {
    const harness = new ConsumerHarness(new Counter(), { manualOffsetManagement: true, firstOffset: 40 });

    await harness.consume([{ value: 'a' }, { value: 'b' }]);
    expect(harness.marks).to.deep.equal([
      { offset: 40, metadata: '1' },
      { offset: 41, metadata: '2' },
    ]);

    let failure: unknown;
    await harness.consume([{ value: 'c' }, { value: 'poison' }, { value: 'd' }]).catch((error: unknown) => (failure = error));
    expect((failure as Error).message).to.equal('poison at offset 43');
    expect(harness.markedOffsets).to.deep.equal([40, 41, 42]);
    expect(harness.lastMarkedOffset).to.equal(42);
  });

  it('runs the consumer of a route as the app draws it, with its manualOffsetManagement()', async () => {
    const draw = (r: RoutesBuilder) => {
      r.activeJobTopic('jobs');
      r.topic('counts', Counter, (t) => t.manualOffsetManagement());
      r.topic('orders', Orders);
    };
    const counts = ConsumerHarness.forRoute(draw, 'counts');
    await counts.consume([{ value: 'a' }]);
    expect(counts.marks).to.deep.equal([{ offset: 0, metadata: '1' }]);
    expect(counts.consumer).to.be.instanceOf(Counter);

    const orders = ConsumerHarness.forRoute(draw, 'orders', { dispatcher: await useTestDispatcher({ jobs: [ShipOrder] }) });
    await orders.consume([{ value: { id: 'o-9', total: 1 } }]);
    expect(orders.markedOffsets).to.deep.equal([0]);

    expect(() => ConsumerHarness.forRoute(draw, 'jobs')).to.throw(InvalidOptionError, '"jobs" is a job topic; test its jobs with useTestDispatcher');
    expect(() => ConsumerHarness.forRoute(draw, 'other')).to.throw(InvalidOptionError, 'no route consumes "other" (routed topics: jobs, counts, orders)');
  });

  it('does not mark a plain consumer\'s batch automatically when it throws', async () => {
    const harness = new ConsumerHarness(Counter);
    await harness.consume([{ value: 'poison' }]).catch(() => undefined);
    expect(harness.marks).to.deep.equal([]);
    expect(() => new ConsumerHarness(class {} as never)).to.throw(InvalidOptionError, 'expected a Consumer subclass');
  });
});
