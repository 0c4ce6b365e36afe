import { expect } from 'chai';
import fc from 'fast-check';
import { BatchQueue } from '../../../lib/consume/batch-queue.ts';
import type { RawRecord } from '../../../lib/kafka/records.ts';

const record = (offset: number): RawRecord => ({ topic: 't', partition: 0, offset, key: null, value: null, headers: {}, timestamp: 0 });
const records = (...offsets: number[]) => offsets.map(record);

/** A queue over in-memory marks that records its backpressure calls. */
function fakeQueue(settings: { maxBatchSize: number; maxBufferedMessages: number }, done: Set<number> = new Set()) {
  const backpressure: boolean[] = [];
  const queue = new BatchQueue(settings, { isDone: (offset) => done.has(offset), backpressure: (on) => backpressure.push(on) });
  const drain = () => {
    const batches: number[][] = [];
    for (let batch = queue.next(); batch; batch = queue.next()) batches.push(batch.map((message) => message.offset));
    return batches;
  };
  return { queue, backpressure, drain, done };
}

describe('batch queue (unit)', () => {
  it('cuts a fetched batch into batches of at most maxBatchSize, in offset order', () => {
    const { queue, drain } = fakeQueue({ maxBatchSize: 2, maxBufferedMessages: 100 });
    expect(queue.enqueue(records(0, 1, 2, 3, 4))).to.equal(true);
    expect(queue.size).to.equal(5);
    expect(drain()).to.deep.equal([[0, 1], [2, 3], [4]]);
    expect(queue.size).to.equal(0);
    expect(queue.empty).to.equal(true);
  });

  it('drops records delivered before (a refetch after a rejoin) and records already done', () => {
    const { queue, drain, done } = fakeQueue({ maxBatchSize: 10, maxBufferedMessages: 100 });
    queue.enqueue(records(0, 1, 2));
    expect(queue.enqueue(records(1, 2)), 'all seen').to.equal(false);
    done.add(4);
    queue.enqueue(records(2, 3, 4, 5));
    expect(drain()).to.deep.equal([[0, 1, 2], [3, 5]]);
    expect(queue.enqueue(records(6)), 'seen only as done').to.equal(true);
    done.add(7);
    expect(queue.enqueue(records(7))).to.equal(false);
  });

  it('holds fetching once maxBufferedMessages wait and lets go at half of it', () => {
    const { queue, backpressure } = fakeQueue({ maxBatchSize: 2, maxBufferedMessages: 4 });
    queue.enqueue(records(0, 1, 2));
    expect(backpressure).to.deep.equal([]);
    queue.enqueue(records(3, 4, 5));
    expect(backpressure).to.deep.equal([true]);
    queue.next();
    queue.next();
    expect(backpressure, '3 left: above half').to.deep.equal([true]);
    queue.next();
    expect(backpressure).to.deep.equal([true, false]);
  });

  it('dropDone drops what a previous owner finished; dropBelow drops what was committed meanwhile, later records too', () => {
    const { queue, drain, done } = fakeQueue({ maxBatchSize: 2, maxBufferedMessages: 100 });
    queue.enqueue(records(0, 1, 2, 3, 4, 5));
    done.add(2).add(3);
    queue.dropDone();
    expect(queue.size).to.equal(4);
    queue.dropBelow(5);
    expect(queue.size).to.equal(1);
    queue.enqueue(records(3, 4, 6));
    expect(drain()).to.deep.equal([[5], [6]]);
    queue.dropBelow(10);
    queue.enqueue(records(8, 9, 10, 11));
    expect(drain(), 'records fetched later below the committed offset').to.deep.equal([[10, 11]]);
  });

  it('clear drops everything queued', () => {
    const { queue } = fakeQueue({ maxBatchSize: 2, maxBufferedMessages: 100 });
    queue.enqueue(records(0, 1, 2));
    queue.clear();
    expect([queue.size, queue.empty, queue.next()]).to.deep.equal([0, true, undefined]);
  });

  it('property: each fetched offset not done is queued once, in order, in batches of at most maxBatchSize', () => {
    const fetch = fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 10 })).map(([from, length]) => Array.from({ length }, (_, i) => from + i));
    fc.assert(
      fc.property(fc.array(fetch, { maxLength: 8 }), fc.integer({ min: 1, max: 5 }), fc.uniqueArray(fc.integer({ min: 0, max: 40 })), (fetches, maxBatchSize, doneOffsets) => {
        const { queue, drain } = fakeQueue({ maxBatchSize, maxBufferedMessages: 1000 }, new Set(doneOffsets));
        const expected: number[] = [];
        let next = -1;
        for (const offsets of fetches) {
          queue.enqueue(records(...offsets));
          for (const offset of offsets) if (offset >= next && !doneOffsets.includes(offset)) expected.push(offset);
          if (offsets.length > 0 && offsets[offsets.length - 1]! >= next) next = offsets[offsets.length - 1]! + 1;
        }
        expect(queue.size).to.equal(expected.length);
        const batches = drain();
        for (const batch of batches) expect(batch.length).to.be.within(1, maxBatchSize);
        expect(batches.flat()).to.deep.equal(expected);
      }),
    );
  });
});
