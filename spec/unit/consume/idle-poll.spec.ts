import { expect } from 'chai';
import fc from 'fast-check';
import { IdlePoll } from '../../../lib/consume/idle-poll.ts';
import { delayTierIdlePoll } from '../../../lib/consume/delay-consumer.ts';

/** An idle poll over a hand-driven clock: `advance(ms)` runs the timers that come due. */
function drivenPoll(pollMs = 1_000, windowMs = 300) {
  let now = 0;
  let timers: { at: number; callback: () => void }[] = [];
  const holds: boolean[] = [];
  const poll = new IdlePoll(
    { pollMs, windowMs },
    {
      hold: (on) => holds.push(on),
      schedule: (callback, ms) => {
        const timer = { at: now + ms, callback };
        timers.push(timer);
        return () => (timers = timers.filter((candidate) => candidate !== timer));
      },
    },
  );
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const next = timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      timers = timers.filter((timer) => timer !== next);
      now = next.at;
      next.callback();
    }
    now = until;
  };
  return { poll, holds, advance, pendingTimers: () => timers.length };
}

describe('idle poll (unit)', () => {
  it('holds a caught-up idle partition, fetches it again after pollMs for windowMs, and holds it again when nothing came', () => {
    const { poll, holds, advance } = drivenPoll();
    poll.fetched(true);
    poll.idle();
    expect(poll.held).to.equal(true);
    advance(999);
    expect(poll.held, 'before pollMs').to.equal(true);
    advance(1);
    expect(poll.held, 'at pollMs: in the fetch again').to.equal(false);
    advance(300);
    expect(poll.held, 'after an empty window').to.equal(true);
    expect(holds).to.deep.equal([true, false, true]);
  });

  it('a partition just assigned is held once a first window passes with nothing fetched (an empty tier never shows in a fetch)', () => {
    const { poll, advance } = drivenPoll();
    poll.start();
    advance(299);
    expect(poll.held, 'within the first window').to.equal(false);
    advance(1);
    expect(poll.held).to.equal(true);
  });

  it('a partition just assigned with a backlog is not held: its first fetch cancels the first window', () => {
    const { poll, advance } = drivenPoll();
    poll.start();
    poll.fetched(false);
    advance(5_000);
    expect(poll.held).to.equal(false);
  });

  it('never holds a partition whose last fetch did not reach the high watermark (a backlog is read at full speed)', () => {
    const { poll, holds, advance } = drivenPoll();
    poll.fetched(false);
    poll.idle();
    advance(10_000);
    expect(poll.held).to.equal(false);
    expect(holds).to.deep.equal([]);
  });

  it('records fetched in the window cancel the next hold; the partition is held again only once idle', () => {
    const { poll, advance } = drivenPoll();
    poll.fetched(true);
    poll.idle();
    advance(1_000);
    poll.fetched(true);
    advance(5_000);
    expect(poll.held, 'busy with what was fetched').to.equal(false);
    poll.idle();
    expect(poll.held).to.equal(true);
  });

  it('stop lets go and cancels its timers; idle after stop holds nothing', () => {
    const { poll, advance, pendingTimers } = drivenPoll();
    poll.fetched(true);
    poll.idle();
    poll.stop();
    expect(poll.held).to.equal(false);
    expect(pendingTimers()).to.equal(0);
    poll.idle();
    advance(5_000);
    expect(poll.held).to.equal(false);
  });

  it('property: a partition is never held longer than pollMs at a stretch, and only after a caught-up fetch', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('fetched' as const), caughtUp: fc.boolean() }),
      fc.record({ kind: fc.constant('idle' as const) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 2_500 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const { poll, advance } = drivenPoll(1_000, 300);
        let heldFor = 0;
        let caughtUp = false;
        for (const s of steps) {
          if (s.kind === 'fetched') {
            poll.fetched(s.caughtUp);
            caughtUp = s.caughtUp;
          } else if (s.kind === 'idle') poll.idle();
          else {
            // Walk in 1 ms steps so a hold longer than pollMs would be seen.
            for (let ms = 0; ms < s.ms; ms += 1) {
              advance(1);
              heldFor = poll.held ? heldFor + 1 : 0;
              expect(heldFor).to.be.at.most(1_000);
            }
          }
          if (poll.held) expect(caughtUp, 'held after a fetch that was not caught up').to.equal(true);
          if (!poll.held) heldFor = 0;
        }
      }),
      { numRuns: 150 },
    );
  });

  it('polls only delay tiers of 5 s and longer, with a window of two fetch waits and 100 ms', () => {
    expect(delayTierIdlePoll('orders.delay.100ms', 100)).to.equal(undefined);
    expect(delayTierIdlePoll('orders.delay.1s', 100)).to.equal(undefined);
    expect(delayTierIdlePoll('orders.delay.5s', 100)).to.deep.equal({ pollMs: 1_000, windowMs: 300 });
    expect(delayTierIdlePoll('orders.delay.6h', 250)).to.deep.equal({ pollMs: 1_000, windowMs: 600 });
    expect(delayTierIdlePoll('orders', 100)).to.equal(undefined);
  });
});
