import { expect } from 'chai';
import fc from 'fast-check';
import { InvalidOptionError } from '../../../lib/errors.ts';
import { CronSchedule, planTicks, type TickPlanInput } from '../../../lib/schedule/cron.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const SECOND = 1_000;
const DAY = 86_400_000;

/** Every tick of `schedule` after `after` up to `until`, by stepping `next`. */
function ticks(schedule: CronSchedule, after: number, until: number): string[] {
  const found: string[] = [];
  for (let tick = schedule.next(after); tick !== undefined && tick <= until; tick = schedule.next(tick)) found.push(iso(tick));
  return found;
}

function plan(schedule: CronSchedule, input: Partial<TickPlanInput> & Pick<TickPlanInput, 'lastTick' | 'now'>) {
  return planTicks(schedule, { catchUpWindowMs: 60 * SECOND, missed: 'run-once', maxTicks: 1_000, ...input });
}

describe('cron schedules (unit)', () => {
  it('parses 5-field, 6-field (seconds) and nickname expressions; next is after, latest at or before', () => {
    const daily = new CronSchedule('s', '0 3 * * *');
    expect(iso(daily.next(at('2026-01-05T02:59:59Z'))!)).to.equal('2026-01-05T03:00:00.000Z');
    expect(iso(daily.next(at('2026-01-05T03:00:00Z'))!)).to.equal('2026-01-06T03:00:00.000Z');
    expect(iso(daily.latest(at('2026-01-05T03:00:00Z'))!)).to.equal('2026-01-05T03:00:00.000Z');
    expect(iso(daily.latest(at('2026-01-05T02:59:59.999Z'))!)).to.equal('2026-01-04T03:00:00.000Z');
    const everySecond = new CronSchedule('s', '* * * * * *');
    expect(ticks(everySecond, at('2026-01-01T00:00:00.500Z'), at('2026-01-01T00:00:03Z'))).to.deep.equal([
      '2026-01-01T00:00:01.000Z',
      '2026-01-01T00:00:02.000Z',
      '2026-01-01T00:00:03.000Z',
    ]);
    expect(iso(new CronSchedule('s', '@daily').next(at('2026-01-05T12:00:00Z'))!)).to.equal('2026-01-06T00:00:00.000Z');
    expect(iso(new CronSchedule('s', '0 9 * * MON').next(at('2026-01-01T00:00:00Z'))!)).to.equal('2026-01-05T09:00:00.000Z');
  });

  it('refuses bad expressions, unknown time zones and expressions that never match, naming the option', () => {
    expect(() => new CronSchedule('routes.recurring.x', '61 * * * *')).to.throw(InvalidOptionError, /routes\.recurring\.x\.cron: "61 \* \* \* \*" is not a cron expression/);
    expect(() => new CronSchedule('routes.recurring.x', '* * *')).to.throw(InvalidOptionError, /routes\.recurring\.x\.cron/);
    expect(() => new CronSchedule('routes.recurring.x', '')).to.throw(InvalidOptionError, /expected a cron expression/);
    expect(() => new CronSchedule('routes.recurring.x', '0 3 * * *', 'Mars/Olympus')).to.throw(InvalidOptionError, /routes\.recurring\.x\.timezone: expected an IANA time zone/);
    expect(() => new CronSchedule('routes.recurring.x', '0 0 30 2 *')).to.throw(InvalidOptionError, /never matches a time/);
  });

  it('reads the expression in its time zone, across daylight-saving changes', () => {
    const berlin = new CronSchedule('s', '0 3 * * *', 'Europe/Berlin');
    expect(iso(berlin.next(at('2026-01-10T00:00:00Z'))!)).to.equal('2026-01-10T02:00:00.000Z'); // CET, UTC+1
    expect(iso(berlin.next(at('2026-07-10T00:00:00Z'))!)).to.equal('2026-07-10T01:00:00.000Z'); // CEST, UTC+2
    const newYork = new CronSchedule('s', '0 9 * * *', 'America/New_York');
    expect(ticks(newYork, at('2026-03-07T00:00:00Z'), at('2026-03-09T23:00:00Z'))).to.deep.equal([
      '2026-03-07T14:00:00.000Z',
      '2026-03-08T13:00:00.000Z', // DST began at 02:00 that morning
      '2026-03-09T13:00:00.000Z',
    ]);
  });

  it('a fixed time in the spring-forward gap runs once, at the first time after the gap; in the repeated hour, once', () => {
    const at0230 = new CronSchedule('s', '30 2 * * *', 'Europe/Berlin');
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day.
    expect(ticks(at0230, at('2026-03-28T00:00:00Z'), at('2026-03-30T12:00:00Z'))).to.deep.equal([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    // 2026-10-25: 03:00 CEST goes back to 02:00 CET, so 02:30 happens twice; it runs on the first.
    expect(ticks(at0230, at('2026-10-24T00:00:00Z'), at('2026-10-26T12:00:00Z'))).to.deep.equal([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('an interval expression skips the times of the gap and runs in both occurrences of the repeated hour', () => {
    const halfHourly = new CronSchedule('s', '*/30 * * * *', 'Europe/Berlin');
    expect(ticks(halfHourly, at('2026-03-29T00:15:00Z'), at('2026-03-29T01:45:00Z'))).to.deep.equal([
      '2026-03-29T00:30:00.000Z', // 01:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST: 02:00 and 02:30 did not exist
      '2026-03-29T01:30:00.000Z',
    ]);
    expect(ticks(halfHourly, at('2026-10-25T00:15:00Z'), at('2026-10-25T01:45:00Z'))).to.deep.equal([
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T01:30:00.000Z', // 02:30 CET
    ]);
  });
});

describe('tick planning (unit)', () => {
  const everySecond = new CronSchedule('s', '* * * * * *');
  const daily = new CronSchedule('s', '0 3 * * *');

  it('plans nothing before the next tick, and a tick exactly at now', () => {
    const lastTick = at('2026-01-05T03:00:00Z');
    expect(plan(daily, { lastTick, now: lastTick + 1000 })).to.deep.equal({ enqueue: [], skipped: undefined, lastTick });
    const due = plan(daily, { lastTick, now: lastTick + DAY });
    expect(due.enqueue.map(iso)).to.deep.equal(['2026-01-06T03:00:00.000Z']);
    expect(due.lastTick).to.equal(lastTick + DAY);
  });

  it('catches up every tick inside the window one by one, oldest first (a takeover loses none)', () => {
    const now = at('2026-01-01T00:01:00.300Z');
    const result = plan(everySecond, { lastTick: now - 10_300, now });
    expect(result.enqueue.map(iso)).to.deep.equal(ticks(everySecond, now - 10_300, now));
    expect(result.enqueue).to.have.length(10);
    expect(result.skipped).to.equal(undefined);
    expect(result.lastTick).to.equal(at('2026-01-01T00:01:00Z'));
  });

  it("run-once: after a long downtime one job for the newest missed tick, never one per tick, never twice", () => {
    const lastTick = at('2026-01-02T03:00:00Z');
    const now = at('2026-01-05T12:00:00Z');
    const first = plan(daily, { lastTick, now });
    expect(first.enqueue.map(iso)).to.deep.equal(['2026-01-05T03:00:00.000Z']);
    expect(first.skipped && [iso(first.skipped.first), iso(first.skipped.last)]).to.deep.equal(['2026-01-03T03:00:00.000Z', '2026-01-04T03:00:00.000Z']);
    const again = plan(daily, { lastTick: first.lastTick, now: now + 5_000 });
    expect(again.enqueue).to.deep.equal([]);
    expect(again.skipped).to.equal(undefined);
  });

  it('run-once with a single missed tick skips nothing', () => {
    const result = plan(daily, { lastTick: at('2026-01-04T03:00:00Z'), now: at('2026-01-05T12:00:00Z') });
    expect(result.enqueue.map(iso)).to.deep.equal(['2026-01-05T03:00:00.000Z']);
    expect(result.skipped).to.equal(undefined);
  });

  it('skip: missed ticks enqueue nothing and are not planned again', () => {
    const lastTick = at('2026-01-02T03:00:00Z');
    const now = at('2026-01-05T12:00:00Z');
    const result = plan(daily, { lastTick, now, missed: 'skip' });
    expect(result.enqueue).to.deep.equal([]);
    expect(result.skipped && [iso(result.skipped.first), iso(result.skipped.last)]).to.deep.equal(['2026-01-03T03:00:00.000Z', '2026-01-05T03:00:00.000Z']);
    expect(result.lastTick).to.equal(at('2026-01-05T03:00:00Z'));
    expect(plan(daily, { lastTick: result.lastTick, now: now + 1 }).enqueue).to.deep.equal([]);
  });

  it('missed ticks older than the window follow the policy; the ticks inside it are each caught up', () => {
    const now = at('2026-01-01T00:10:00Z');
    const lastTick = now - 100 * SECOND;
    const once = plan(everySecond, { lastTick, now, catchUpWindowMs: 60 * SECOND });
    expect(iso(once.enqueue[0]!)).to.equal('2026-01-01T00:09:00.000Z'); // the newest tick older than the window
    expect(once.enqueue.slice(1).map(iso)).to.deep.equal(ticks(everySecond, now - 60 * SECOND, now));
    expect(once.skipped && [iso(once.skipped.first), iso(once.skipped.last)]).to.deep.equal(['2026-01-01T00:08:21.000Z', '2026-01-01T00:08:59.000Z']);
    const skip = plan(everySecond, { lastTick, now, catchUpWindowMs: 60 * SECOND, missed: 'skip' });
    expect(skip.enqueue.map(iso)).to.deep.equal(ticks(everySecond, now - 60 * SECOND, now));
    expect(skip.skipped && [iso(skip.skipped.first), iso(skip.skipped.last)]).to.deep.equal(['2026-01-01T00:08:21.000Z', '2026-01-01T00:09:00.000Z']);
  });

  it('plans at most maxTicks; the next plan goes on from there', () => {
    const now = at('2026-01-01T00:01:00Z');
    const first = plan(everySecond, { lastTick: now - 12 * SECOND, now, maxTicks: 5 });
    expect(first.enqueue).to.have.length(5);
    const second = plan(everySecond, { lastTick: first.lastTick, now, maxTicks: 5 });
    const third = plan(everySecond, { lastTick: second.lastTick, now, maxTicks: 5 });
    expect([...first.enqueue, ...second.enqueue, ...third.enqueue].map(iso)).to.deep.equal(ticks(everySecond, now - 12 * SECOND, now));
  });

  it('over any run of plans: each tick at most once, in order, after the last tick, never in the future', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200_000 }),
        fc.array(fc.integer({ min: 0, max: 90_000 }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom('run-once' as const, 'skip' as const),
        fc.integer({ min: 1, max: 40 }),
        (start, steps, missed, maxTicks) => {
          const base = at('2026-01-01T00:00:00Z') + start;
          let lastTick = base;
          let now = base;
          const enqueued: number[] = [];
          for (const step of steps) {
            now += step;
            const result = planTicks(everySecond, { lastTick, now, catchUpWindowMs: 30 * SECOND, missed, maxTicks });
            for (const tick of result.enqueue) {
              expect(tick).to.be.greaterThan(lastTick);
              expect(tick).to.be.at.most(now);
            }
            expect(result.lastTick).to.be.at.least(lastTick);
            enqueued.push(...result.enqueue);
            lastTick = result.lastTick;
          }
          for (let i = 1; i < enqueued.length; i += 1) expect(enqueued[i]).to.be.greaterThan(enqueued[i - 1]!);
        },
      ),
      { numRuns: 100 },
    );
  });
});
