import { expect } from 'chai';
import fc from 'fast-check';
import { OffsetTracker } from '../../../lib/consume/offset-tracker.ts';

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
  it('finished(): marked offsets above the commit point, counted by finishedCount (R2)', () => {
    const tracker = new OffsetTracker();
    tracker.track([[0, 2, 4], [1, 3, 5]]);
    tracker.mark(3);
    expect(tracker.finished()).to.deep.equal([1, 3]);
    expect(tracker.finishedCount).to.equal(2);
    expect(tracker.commitPoint(), 'a partition never committed commits nothing before its first materialized offset').to.equal(undefined);
    tracker.mark(0);
    expect(tracker.commitPoint()).to.deep.equal({ offset: 2, metadata: null });
    expect(tracker.finished()).to.deep.equal([3]);
    expect(tracker.finishedCount).to.equal(1);
  });

  it('resume: offsets a previous owner finished count as marked; the position moves over them (R2)', () => {
    const tracker = new OffsetTracker('exact');
    tracker.resume({ offset: 10, metadata: 'before' }, [8, 11, 12, 14, 17]);
    expect(tracker.commitPoint(), 'the resumed position, with the done-map it may grow').to.deep.equal({ offset: 10, metadata: 'before' });
    expect(tracker.finished()).to.deep.equal([11, 12, 14, 17]);
    expect(tracker.isMarked(12)).to.equal(true);
    expect(tracker.isMarked(13)).to.equal(false);
    // The processor skips 11, 12, 14 and 17: lanes get the rest.
    tracker.track([[10, 15], [13, 16]]);
    tracker.mark(16, 'b16');
    expect(tracker.materialized()).to.equal(undefined);
    expect(tracker.commitPoint()).to.deep.equal({ offset: 10, metadata: 'before' });
    expect(tracker.finished()).to.deep.equal([11, 12, 13, 14, 16, 17]);
    tracker.mark(10, 'a10');
    expect(tracker.materialized(), '11 and 12 were finished before: up to the unmarked 15').to.deep.equal({ offset: 15, metadata: 'b16' });
    expect(tracker.finished()).to.deep.equal([16, 17]);
    tracker.mark(15, 'a15');
    expect(tracker.materialized(), 'the metadata of the last tracked offset it covers').to.deep.equal({ offset: 18, metadata: 'b16' });
    expect(tracker.finished()).to.deep.equal([]);
    expect(tracker.finishedCount).to.equal(0);
    expect(() => tracker.resume({ offset: 0, metadata: null }, [])).to.throw(RangeError);
  });

  it('property: with a resumed done-map, the commit point never passes an unfinished offset, and finished() is exactly the rest', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.nat(), { maxLength: 200 }),
        (start, inheritedFlags, lanes, markPicks) => {
          const offsets = inheritedFlags.map((_, i) => start + i);
          const inherited = offsets.filter((_, i) => i > 0 && inheritedFlags[i]);
          const tracker = new OffsetTracker();
          tracker.resume({ offset: start, metadata: null }, inherited);
          const toRun = offsets.filter((offset) => !tracker.isMarked(offset));
          const laneLists: number[][] = Array.from({ length: lanes }, () => []);
          toRun.forEach((offset) => laneLists[offset % lanes]!.push(offset));
          tracker.track(laneLists.filter((lane) => lane.length > 0));
          const done = new Set(inherited);
          for (const pick of markPicks) {
            const lane = laneLists[pick % lanes]!;
            if (lane.length === 0) continue;
            const upTo = (pick >> 3) % lane.length;
            tracker.mark(lane[upTo]!);
            for (const offset of lane.slice(0, upTo + 1)) done.add(offset);
            const point = tracker.commitPoint()!;
            for (let offset = start; offset < point.offset; offset += 1) expect(done.has(offset), `offset ${offset} below ${point.offset}`).to.equal(true);
            expect(done.has(point.offset)).to.equal(false);
            const above = [...done].filter((offset) => offset > point.offset).sort((a, b) => a - b);
            expect(tracker.finished()).to.deep.equal(above);
            expect(tracker.finishedCount).to.equal(above.length);
          }
        },
      ),
    );
  });
});
