import { expect } from 'chai';
import fc from 'fast-check';
import { defaultReducer, fnv1a, splitIntoLanes } from '../../../lib/consume/lanes.ts';

type M = { offset: number; key: string | undefined };
const keyOf = (m: M) => m.key;
const batch = (keys: (string | undefined)[]): M[] => keys.map((key, offset) => ({ offset, key }));

describe('lane split (unit)', () => {
  it('is stable: FNV-1a of known strings', () => {
    expect(fnv1a('')).to.equal(0x811c9dc5);
    expect(fnv1a('a')).to.equal(0xe40c292c);
    expect(defaultReducer('user-1', 8)).to.equal(defaultReducer('user-1', 8));
  });

  it('consistent: the same key gets the same lane in every batch (V2)', () => {
    const settings = { maxPartitions: 8, distribution: 'consistent' as const, reducer: defaultReducer, keyOf };
    const laneOfKey = new Map<string, number>();
    for (let round = 0; round < 20; round += 1) {
      const keys = Array.from({ length: 50 }, (_, i) => `k${(i * 7 + round * 13) % 31}`);
      const split = splitIntoLanes(batch(keys), settings);
      split.lanes.forEach((lane, index) => {
        for (const m of lane) {
          const known = laneOfKey.get(m.key!);
          if (known !== undefined) expect(known).to.equal(split.laneIds[index]);
          laneOfKey.set(m.key!, split.laneIds[index]!);
        }
      });
    }
    expect(new Set(laneOfKey.values()).size).to.be.greaterThan(4);
  });

  it('a constant key gives one lane (V4)', () => {
    const split = splitIntoLanes(batch(Array(100).fill('same')), { maxPartitions: 8, distribution: 'consistent', reducer: defaultReducer, keyOf });
    expect(split.lanes).to.have.length(1);
    expect(split.lanes[0]).to.have.length(100);
  });

  it('balanced: keys stay whole and in order, lanes are loaded evenly (V3)', () => {
    const keys = [...Array(40).fill('big'), ...Array.from({ length: 120 }, (_, i) => `k${i % 24}`)];
    const split = splitIntoLanes(batch(keys), { maxPartitions: 4, distribution: 'balanced', reducer: defaultReducer, keyOf });
    expect(split.lanes).to.have.length(4);
    const laneOfKey = new Map<string, number>();
    split.lanes.forEach((lane, index) => {
      for (let i = 1; i < lane.length; i += 1) expect(lane[i]!.offset).to.be.greaterThan(lane[i - 1]!.offset);
      for (const m of lane) {
        expect(laneOfKey.get(m.key!) ?? index).to.equal(index);
        laneOfKey.set(m.key!, index);
      }
    });
    const loads = split.lanes.map((lane) => lane.length).sort((a, b) => a - b);
    expect(loads[3]! - loads[0]!).to.be.at.most(5);
  });

  it('keyless messages are spread, not serialized', () => {
    const split = splitIntoLanes(batch(Array(16).fill(undefined)), { maxPartitions: 4, distribution: 'consistent', reducer: defaultReducer, keyOf });
    expect(split.lanes).to.have.length(4);
  });

  it('a throwing partitioner gives one lane and reports the error (V6, pure part)', () => {
    const split = splitIntoLanes(batch(['a', 'b', 'c']), {
      maxPartitions: 4,
      distribution: 'consistent',
      reducer: defaultReducer,
      keyOf: (m) => {
        if (m.offset === 1) throw new Error('boom');
        return m.key;
      },
    });
    expect(split.lanes).to.have.length(1);
    expect(split.lanes[0]!.map((m) => m.offset)).to.deep.equal([0, 1, 2]);
    expect((split.error as Error).message).to.equal('boom');
  });

  it('a reducer out of range is an error, not a silent lane', () => {
    const split = splitIntoLanes(batch(['a', 'b']), { maxPartitions: 4, distribution: 'consistent', reducer: () => 9, keyOf });
    expect(split.lanes).to.have.length(1);
    expect(String(split.error)).to.contain('reducer returned 9');
  });

  it('property: every message lands in exactly one lane, lanes keep offset order, a key never spans lanes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.string({ maxLength: 3 }), { nil: undefined }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 16 }),
        fc.constantFrom('consistent' as const, 'balanced' as const),
        (keys, maxPartitions, distribution) => {
          const messages = batch(keys);
          const split = splitIntoLanes(messages, { maxPartitions, distribution, reducer: defaultReducer, keyOf });
          const all = split.lanes.flat().map((m) => m.offset).sort((a, b) => a - b);
          expect(all).to.deep.equal(messages.map((m) => m.offset));
          expect(split.lanes.length).to.be.at.most(maxPartitions);
          const laneOfKey = new Map<string, number>();
          split.lanes.forEach((lane, index) => {
            for (let i = 1; i < lane.length; i += 1) expect(lane[i]!.offset).to.be.greaterThan(lane[i - 1]!.offset);
            for (const m of lane) {
              if (m.key === undefined) continue;
              expect(laneOfKey.get(m.key) ?? index).to.equal(index);
              laneOfKey.set(m.key, index);
            }
          });
        },
      ),
    );
  });
});
