import { expect } from 'chai';
import fc from 'fast-check';
import { LaneScheduler, type MessageKey } from '../../../lib/consume/lane-scheduler.ts';
import { defaultReducer, type Distribution } from '../../../lib/consume/lanes.ts';
import { OffsetTracker } from '../../../lib/consume/offset-tracker.ts';

interface Msg {
  offset: number;
  key: MessageKey;
}

const keyOf = (message: Msg) => message.key;
const messages = (keys: MessageKey[], from = 0): Msg[] => keys.map((key, index) => ({ offset: from + index, key }));
const offsets = (run: Msg[] | undefined) => run?.map((message) => message.offset);
const scheduler = (maxPartitions: number, distribution: Distribution) => new LaneScheduler<Msg>({ maxPartitions, distribution, reducer: defaultReducer });

/**
 * Drives a scheduler and an OffsetTracker the way the partition processor does, with choices from
 * `choices`: admit a batch, start a free lane, end a run (all done, or failing after a prefix). A
 * failure starts nothing until every run ended, then the collapsed retry finishes what they left.
 * Checks the scheduler's invariants and that the commit point never passes an unfinished offset.
 */
function simulate(batches: MessageKey[][], maxPartitions: number, distribution: Distribution, maxRun: number, choices: number[]): void {
  const lanes = scheduler(maxPartitions, distribution);
  const tracker = new OffsetTracker('exact');
  const all: Msg[] = [];
  const done = new Set<number>();
  const active = new Map<number, Msg[]>(); // taken, not finished in the scheduler
  const running = new Set<number>(); // active and not ended
  let failing = false;
  let next = 0;
  let choice = 0;
  const pick = (n: number) => (choice < choices.length ? choices[choice++]! : 0) % n;

  const checkCommitPoint = () => {
    const unfinished = all.find((message) => !done.has(message.offset));
    const point = tracker.commitPoint()?.offset ?? 0;
    if (unfinished) expect(point, `commit point past unfinished ${unfinished.offset}`).to.be.at.most(unfinished.offset);
    else expect(point).to.equal(all.length);
  };
  const admit = () => {
    const batch = messages(batches[next++]!, all.length);
    all.push(...batch);
    lanes.admit(batch, keyOf);
    tracker.track([batch.map((message) => message.offset)]);
  };
  const take = (lane: number) => {
    const run = lanes.take(lane, maxRun)!;
    expect(run.length).to.be.within(1, maxRun);
    expect(offsets(run), 'a run in offset order').to.deep.equal(offsets(run)!.sort((a, b) => a - b));
    expect(lane).to.be.within(0, maxPartitions - 1);
    for (const [position, message] of run.entries()) {
      if (message.key === undefined) continue;
      if (distribution === 'consistent') expect(lane, 'consistent: the reducer lane').to.equal(defaultReducer(message.key, maxPartitions));
      const earlier = all.filter((other) => other.key === message.key && other.offset < message.offset);
      for (const other of earlier) {
        const before = run.slice(0, position).includes(other);
        expect(done.has(other.offset) || before, `offset ${message.offset} starts before ${other.offset} of key ${message.key} finished`).to.equal(true);
      }
      for (const [otherLane, otherRun] of active) {
        expect(otherRun.some((other) => other.key === message.key), `key ${message.key} in lanes ${lane} and ${otherLane}`).to.equal(false);
      }
    }
    active.set(lane, run);
    running.add(lane);
    expect(active.size).to.be.at.most(maxPartitions);
    tracker.relane([run.map((message) => message.offset)]);
  };
  const end = (lane: number, fails: boolean) => {
    const run = active.get(lane)!;
    running.delete(lane);
    const finished = fails ? pick(run.length) : run.length;
    if (finished > 0) tracker.mark(run[finished - 1]!.offset);
    for (const message of run.slice(0, finished)) done.add(message.offset);
    if (fails) failing = true;
    if (!failing) {
      lanes.finish(lane);
      active.delete(lane);
    }
  };
  const recover = () => {
    const left = [...active.values()].flat().filter((message) => !done.has(message.offset)).sort((a, b) => a.offset - b.offset);
    if (left.length > 0) {
      tracker.relane([left.map((message) => message.offset)]);
      tracker.mark(left[left.length - 1]!.offset);
      for (const message of left) done.add(message.offset);
    }
    for (const lane of active.keys()) lanes.finish(lane);
    active.clear();
    failing = false;
  };

  for (let step = 0; ; step += 1) {
    const draining = choice >= choices.length;
    const options: (() => void)[] = [];
    if (next < batches.length) options.push(admit);
    if (!failing) for (const lane of lanes.startable()) options.push(() => take(lane));
    for (const lane of running) {
      options.push(() => end(lane, false));
      if (!draining) options.push(() => end(lane, true));
    }
    if (failing && running.size === 0) options.push(recover);
    if (options.length === 0) break;
    options[pick(options.length)]!();
    expect(lanes.runningLanes).to.equal(active.size);
    checkCommitPoint();
    if (step > 10_000) throw new Error('no progress');
  }
  expect(lanes.idle).to.equal(true);
  expect(done.size).to.equal(all.length);
  checkCommitPoint();
}

describe('lane scheduler (unit)', () => {
  const key = fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { nil: undefined, freq: 5 });
  const batches = fc.array(fc.array(key, { minLength: 1, maxLength: 6 }), { maxLength: 6 });

  for (const distribution of ['consistent', 'balanced'] as const) {
    it(`${distribution}: random keys, finish orders and failures keep order per key, no key in two lanes, no commit past an unfinished offset`, () => {
      fc.assert(
        fc.property(batches, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), fc.array(fc.nat(), { maxLength: 80 }), (keys, maxPartitions, maxRun, choices) =>
          simulate(keys, maxPartitions, distribution, maxRun, choices),
        ),
        { numRuns: 300 },
      );
    });
  }

  it('consistent: a key always gets the reducer lane, keyless messages go round-robin', () => {
    const lanes = new LaneScheduler<Msg>({ maxPartitions: 3, distribution: 'consistent', reducer: (key) => (key === 'x' ? 2 : 0) });
    expect(lanes.admit(messages(['x', undefined, undefined, 'y', 'x', undefined]), keyOf)).to.equal(3);
    expect(lanes.startable()).to.have.members([0, 1, 2]);
    expect(offsets(lanes.take(2, 10))).to.deep.equal([0, 4, 5]);
    expect(offsets(lanes.take(0, 10))).to.deep.equal([1, 3]);
    expect(offsets(lanes.take(1, 10))).to.deep.equal([2]);
    lanes.finish(2);
    lanes.admit(messages(['x'], 6), keyOf);
    expect(offsets(lanes.take(2, 10)), 'x stays on its lane even when the lane is the busiest').to.deep.equal([6]);
  });

  it('balanced: a key with unfinished messages stays on its lane; the others wait in a pool for the next free lane, a share each', () => {
    const lanes = scheduler(2, 'balanced');
    expect(lanes.admit(messages(['a', 'b', 'a', 'c']), keyOf)).to.equal(2);
    expect(lanes.startable(), 'every free lane may take from the pool').to.deep.equal([0, 1]);
    expect(offsets(lanes.take(1, 10)), 'half the pool: a binds to lane 1 and brings its later message').to.deep.equal([0, 2]);
    expect(offsets(lanes.take(0, 10)), 'half of what is left').to.deep.equal([1]);
    lanes.finish(0);
    lanes.admit(messages(['a', 'd'], 4), keyOf);
    expect(lanes.startable(), 'a waits for its lane 1, which runs; c and d are in the pool').to.deep.equal([0]);
    expect(offsets(lanes.take(0, 10))).to.deep.equal([3]);
    lanes.finish(0);
    expect(offsets(lanes.take(0, 10))).to.deep.equal([5]);
    lanes.finish(1);
    expect(offsets(lanes.take(1, 10)), 'a goes on in lane 1, in order').to.deep.equal([4]);
    lanes.finish(1);
    lanes.finish(0);
    expect(lanes.idle).to.equal(true);
    lanes.admit(messages(['a', 'e', 'a'], 6), keyOf);
    expect(offsets(lanes.take(0, 1)), 'a key with nothing unfinished goes to any free lane; a run takes at most max').to.deep.equal([6]);
    expect(offsets(lanes.take(1, 10)), 'the message of a that did not fit waits in its lane').to.deep.equal([7]);
    lanes.finish(0);
    expect(offsets(lanes.take(0, 10))).to.deep.equal([8]);
  });

  it('balanced: a run keeps offset order across the keys it took', () => {
    const lanes = scheduler(1, 'balanced');
    lanes.admit(messages(['a', 'b', 'a', 'b']), keyOf);
    expect(offsets(lanes.take(0, 10))).to.deep.equal([0, 1, 2, 3]);
  });

  it('a free lane takes its next run while another lane still runs (no batch barrier)', () => {
    const lanes = new LaneScheduler<Msg>({ maxPartitions: 2, distribution: 'consistent', reducer: (key) => (key === 'slow' ? 0 : 1) });
    lanes.admit(messages(['slow', 'fast']), keyOf);
    lanes.take(0, 10);
    lanes.take(1, 10);
    lanes.finish(1);
    lanes.admit(messages(['fast', 'slow'], 2), keyOf);
    expect(lanes.startable()).to.deep.equal([1]);
    expect(offsets(lanes.take(1, 10))).to.deep.equal([2]);
    expect(lanes.take(0, 10), 'lane 0 still runs').to.equal(undefined);
  });

  it('a run takes at most max messages, in admission order; a lane runs one run at a time', () => {
    const lanes = scheduler(1, 'consistent');
    lanes.admit(messages(['a', 'b', 'c']), keyOf);
    expect(offsets(lanes.take(0, 2))).to.deep.equal([0, 1]);
    expect(lanes.waiting).to.equal(1);
    expect(lanes.take(0, 2)).to.equal(undefined);
    lanes.finish(0);
    expect(offsets(lanes.take(0, 2))).to.deep.equal([2]);
    expect(() => lanes.finish(0)).not.to.throw();
    expect(() => lanes.finish(0)).to.throw(RangeError, 'lane 0 has no run in progress');
  });

  it('admits all or nothing: a throwing key or a reducer lane out of range admits nothing', () => {
    const lanes = new LaneScheduler<Msg>({ maxPartitions: 2, distribution: 'consistent', reducer: (key) => (key === 'bad' ? 7 : 0) });
    expect(() => lanes.admit(messages(['a', 'bad']), keyOf)).to.throw(RangeError, 'the reducer returned 7 for key "bad"; expected an integer in [0, 2)');
    expect(() =>
      lanes.admit(messages(['a', 'b']), (message) => {
        if (message.offset === 1) throw new Error('no key');
        return message.key;
      }),
    ).to.throw('no key');
    expect(lanes.idle).to.equal(true);
    expect(lanes.startable()).to.deep.equal([]);
  });

  it('clear() forgets waiting and running messages', () => {
    const lanes = scheduler(2, 'balanced');
    lanes.admit(messages(['a', 'b', 'a']), keyOf);
    lanes.take(0, 1);
    lanes.clear();
    expect(lanes.idle).to.equal(true);
    expect(lanes.startable()).to.deep.equal([]);
  });
});
