import { expect } from 'chai';
import fc from 'fast-check';
import { OffsetTracker } from '../../lib/consume/offset-tracker.ts';

describe('offset tracker (unit)', () => {
  it('commits nothing while the lowest lane is unmarked, then the whole run (V10, V12)', () => {
    const tracker = new OffsetTracker('exact');
    tracker.track([[0, 2, 4], [1, 3, 5]]);
    expect(tracker.mark(3, 'b3')).to.equal(true);
    expect(tracker.materialized()).to.equal(undefined);
    tracker.mark(2, 'a2');
    expect(tracker.materialized()).to.deep.equal({ offset: 4, metadata: 'b3' });
    tracker.mark(5, 'b5');
    expect(tracker.materialized()).to.deep.equal({ offset: 4, metadata: 'b3' });
    tracker.mark(4, 'a4');
    expect(tracker.materialized()).to.deep.equal({ offset: 6, metadata: 'b5' });
  });

  it('a mark covers the earlier messages of its lane only', () => {
    const tracker = new OffsetTracker();
    tracker.track([[10, 11, 14], [12, 13]]);
    tracker.mark(14);
    expect(tracker.isMarked(10)).to.equal(true);
    expect(tracker.isMarked(12)).to.equal(false);
    expect(tracker.materialized()).to.deep.equal({ offset: 12, metadata: null });
    expect(tracker.unmarked()).to.deep.equal([12, 13]);
  });

  it('"current" commits the latest metadata given, "exact" the one of the committed offset (V12)', () => {
    const exact = new OffsetTracker('exact');
    const current = new OffsetTracker('current');
    for (const tracker of [exact, current]) {
      tracker.track([[0, 1], [2, 3]]);
      tracker.mark(3, 'late-lane');
      tracker.mark(0, 'first');
    }
    expect(exact.materialized()).to.deep.equal({ offset: 1, metadata: 'first' });
    expect(current.materialized()).to.deep.equal({ offset: 1, metadata: 'first' });
    exact.mark(1, 'second');
    current.mark(1, 'second');
    expect(exact.materialized()).to.deep.equal({ offset: 4, metadata: 'late-lane' });
    expect(current.materialized()).to.deep.equal({ offset: 4, metadata: 'second' });
  });

  it('handles offset gaps (compaction, transaction markers)', () => {
    const tracker = new OffsetTracker();
    tracker.track([[5, 9], [7]]);
    tracker.mark(9);
    tracker.mark(7);
    expect(tracker.materialized()).to.deep.equal({ offset: 10, metadata: null });
    tracker.track([[12]]);
    expect(() => tracker.track([[11]])).to.throw(RangeError);
  });

  it('relane: a collapsed retry runs the unmarked rest as one lane', () => {
    const tracker = new OffsetTracker();
    tracker.track([[0, 2], [1, 3]]);
    tracker.mark(2);
    tracker.relane([tracker.unmarked()]);
    tracker.mark(3);
    expect(tracker.materialized()).to.deep.equal({ offset: 4, metadata: null });
  });

  it('marks of unknown or materialized offsets return false', () => {
    const tracker = new OffsetTracker();
    tracker.track([[0, 1]]);
    expect(tracker.mark(7)).to.equal(false);
    tracker.mark(1);
    expect(tracker.mark(0)).to.equal(false);
    expect(tracker.isMarked(0)).to.equal(true);
  });

  it('preview gives the position marks would give, without applying them', () => {
    const tracker = new OffsetTracker('exact');
    tracker.track([[0, 2], [1, 3]]);
    tracker.mark(0, 'a');
    expect(tracker.preview([{ offset: 1, metadata: 'b' }, { offset: 2, metadata: 'c' }])).to.deep.equal({ offset: 3, metadata: 'c' });
    expect(tracker.materialized()).to.deep.equal({ offset: 1, metadata: 'a' });
    expect(tracker.preview([{ offset: 3, metadata: 'd' }]), 'marking 3 covers 1 in its lane').to.deep.equal({ offset: 2, metadata: 'd' });
    tracker.mark(1, 'b');
    tracker.mark(2, 'c');
    expect(tracker.materialized()).to.deep.equal({ offset: 3, metadata: 'c' });
  });

  it('property: the committed offset never passes an unmarked message, and reaches the end when all are marked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 30 }), lanes: fc.integer({ min: 1, max: 6 }), gap: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 400 }),
        fc.array(fc.nat(), { maxLength: 50 }),
        (batches, markPicks, failurePicks) => {
          const tracker = new OffsetTracker('exact');
          const marked = new Set<number>();
          const laneOf = new Map<number, number[]>();
          let next = 0;
          for (const b of batches) {
            const lanes: number[][] = Array.from({ length: b.lanes }, () => []);
            const offsets: number[] = [];
            for (let i = 0; i < b.size; i += 1) {
              offsets.push(next);
              next += 1 + (i % 4 === 0 ? b.gap : 0);
            }
            offsets.forEach((offset) => lanes[(offset * 7) % b.lanes]!.push(offset));
            tracker.track(lanes.filter((l) => l.length > 0));
            for (const lane of lanes) for (const o of lane) laneOf.set(o, lane);
            // random marks, some "failures" that simply never mark
            const failed = new Set(failurePicks.map((p) => offsets[p % offsets.length]!));
            for (const pick of markPicks) {
              const offset = offsets[pick % offsets.length]!;
              if (failed.has(offset)) continue;
              const lane = laneOf.get(offset)!;
              const upTo = lane.indexOf(offset);
              if (lane.slice(0, upTo + 1).some((o) => failed.has(o))) continue;
              tracker.mark(offset, `m${offset}`);
              for (const o of lane.slice(0, upTo + 1)) marked.add(o);
              const position = tracker.materialized();
              if (position) {
                for (const o of laneOf.keys()) if (o < position.offset) expect(marked.has(o), `offset ${o} below ${position.offset}`).to.equal(true);
              }
            }
            for (const offset of offsets) {
              const lane = laneOf.get(offset)!;
              tracker.mark(lane[lane.length - 1]!);
              for (const o of lane) marked.add(o);
            }
            expect(tracker.materialized()!.offset).to.equal(offsets[offsets.length - 1]! + 1);
          }
        },
      ),
    );
  });
});
