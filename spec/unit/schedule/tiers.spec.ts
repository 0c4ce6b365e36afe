import { expect } from 'chai';
import fc from 'fast-check';
import { InvalidOptionError } from '../../../lib/errors.ts';
import { retryWaitMs, retryWaitSettings } from '../../../lib/schedule/retry-wait.ts';
import { DELAY_TIERS, delayTopic, delayTopics, nextHop, parseDelayTopic, routeScheduled, ScheduleHeaders, type Hop } from '../../../lib/schedule/tiers.ts';

/** Every hop of a job due at `scheduledAt` enqueued at `start`, each hop forwarded exactly on time. */
function path(scheduledAt: number, start: number): Hop[] {
  const hops: Hop[] = [];
  let from = start;
  for (;;) {
    const hop = nextHop('jobs', scheduledAt, from, from);
    hops.push(hop);
    if (hop.until === undefined) return hops;
    from = hop.until;
  }
}

const HOUR = 3_600_000;

describe('delay tiers (unit)', () => {
  it('names tier topics <topic>.delay.<tier> and parses them back', () => {
    expect(delayTopics('billing')).to.deep.equal(DELAY_TIERS.map((tier) => `billing.delay.${tier.name}`));
    expect(delayTopics('billing')).to.include.members(['billing.delay.1s', 'billing.delay.5s', 'billing.delay.30s', 'billing.delay.2m', 'billing.delay.10m', 'billing.delay.1h', 'billing.delay.6h']);
    const parsed = parseDelayTopic('my.jobs.delay.30s');
    expect(parsed?.target).to.equal('my.jobs');
    expect(parsed?.tier.ms).to.equal(30_000);
    expect(parseDelayTopic('billing')).to.equal(undefined);
    expect(parseDelayTopic('billing.delay.7s')).to.equal(undefined);
    expect(parseDelayTopic('.delay.1s')).to.equal(undefined);
  });

  it('each tier divides the next, so whole 100 ms steps are spent exactly', () => {
    for (let i = 1; i < DELAY_TIERS.length; i += 1) expect(DELAY_TIERS[i]!.ms % DELAY_TIERS[i - 1]!.ms).to.equal(0);
  });

  it('a due or overdue job goes straight to its topic', () => {
    expect(nextHop('jobs', 1000, 1000, 1000)).to.deep.equal({ topic: 'jobs', until: undefined });
    expect(nextHop('jobs', 1000, 400, 1200), 'overdue by the clock, even if the plan says otherwise').to.deep.equal({ topic: 'jobs', until: undefined });
  });

  it('spends the part below 100 ms first, then the largest tier that fits', () => {
    const t = 1_000_000;
    expect(nextHop('jobs', t + 30, t, t)).to.deep.equal({ topic: 'jobs.delay.100ms', until: t + 30 });
    expect(nextHop('jobs', t + 7_250, t, t)).to.deep.equal({ topic: 'jobs.delay.100ms', until: t + 50 });
    expect(nextHop('jobs', t + 7_250, t + 50, t + 50)).to.deep.equal({ topic: 'jobs.delay.5s', until: t + 5_050 });
    expect(nextHop('jobs', t + 5_000, t, t)).to.deep.equal({ topic: 'jobs.delay.5s', until: t + 5_000 });
    expect(nextHop('jobs', t + 4_900, t, t)).to.deep.equal({ topic: 'jobs.delay.1s', until: t + 1_000 });
    expect(nextHop('jobs', t + 30 * HOUR, t, t)).to.deep.equal({ topic: 'jobs.delay.6h', until: t + 6 * HOUR });
  });

  it('a late hop is planned from the last 100 ms step it has passed (it would wait behind the punctual ones)', () => {
    const t = 1_000_000;
    expect(nextHop('jobs', t + 20_000, t, t + 7_020)).to.deep.equal({ topic: 'jobs.delay.5s', until: t + 12_000 });
    expect(nextHop('jobs', t + 20_000, t, t + 19_950)).to.deep.equal({ topic: 'jobs.delay.100ms', until: t + 20_000 });
    expect(nextHop('jobs', t + 20_000, t, t + 90), 'less than a step late: planned from t').to.deep.equal({ topic: 'jobs.delay.5s', until: t + 5_000 });
  });

  it('property: a path never ends a hop after the scheduled time, ends exactly on it, and each hop lasts at most its tier', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 * 24 * HOUR }), fc.integer({ min: 0, max: 2 ** 40 }), (wait, start) => {
        const hops = path(start + wait, start);
        const waits = hops.slice(0, -1);
        let from = start;
        for (const hop of waits) {
          const tier = parseDelayTopic(hop.topic)!.tier;
          expect(hop.until!).to.be.at.most(start + wait);
          expect(hop.until! - from).to.be.greaterThan(0).and.at.most(tier.ms);
          if (hop !== waits[0]) expect(hop.until! - from, 'only the first hop is shorter than its tier').to.equal(tier.ms);
          from = hop.until!;
        }
        expect(from).to.equal(start + wait);
        expect(hops[hops.length - 1]!.topic).to.equal('jobs');
        // few hops: at most 5 per tier boundary plus whole 6 h hops and the first, sub-100 ms one
        expect(waits.length).to.be.at.most(1 + 4 * (DELAY_TIERS.length - 1) + Math.floor(wait / (6 * HOUR)) + 1);
      }),
      { numRuns: 500 },
    );
  });

  it('property: jobs with the same wait take the same tiers, shifted by their enqueue gap (so one key keeps its order)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 * HOUR }), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 1, max: 60_000 }), (wait, start, gap) => {
        const first = path(start + wait, start);
        const second = path(start + gap + wait, start + gap);
        expect(second.map((hop) => hop.topic)).to.deep.equal(first.map((hop) => hop.topic));
        second.forEach((hop, i) => hop.until !== undefined && expect(hop.until - first[i]!.until!).to.equal(gap));
      }),
      { numRuns: 300 },
    );
  });

  it('routeScheduled keeps key, value and other headers, and sets the schedule headers', () => {
    const t = Date.parse('2030-01-01T00:00:00.000Z');
    const routed = routeScheduled({ key: 'k', value: 'v', headers: { 'job-key': 'k', trace: 'abc', gone: undefined, [ScheduleHeaders.delayUntil]: 'old' } }, 'jobs', t + 2_000, t, t);
    expect(routed).to.deep.equal({
      topic: delayTopic('jobs', DELAY_TIERS[2]!),
      key: 'k',
      value: 'v',
      headers: { 'job-key': 'k', trace: 'abc', 'scheduled-at': '2030-01-01T00:00:02.000Z', 'delay-until': '2030-01-01T00:00:01.000Z' },
    });
    const due = routeScheduled({ key: null, value: 'v', headers: { [ScheduleHeaders.delayUntil]: 'old' } }, 'jobs', t, t - 1_000, t);
    expect(due).to.deep.equal({ topic: 'jobs', key: null, value: 'v', headers: { 'scheduled-at': '2030-01-01T00:00:00.000Z' } });
  });
});

describe('retry waits (unit)', () => {
  const settings = (options: object) => retryWaitSettings('Sync.retryOn', options)!;

  it('milliseconds plus up to jitter × wait at random (default jitter 0.15)', () => {
    expect(retryWaitMs('x', settings({ wait: 2000 }), 1, undefined, () => 0)).to.equal(2000);
    expect(retryWaitMs('x', settings({ wait: 2000 }), 1, undefined, () => 0.999999)).to.equal(2300);
    expect(retryWaitMs('x', settings({ wait: 2000, jitter: 0 }), 3, undefined, () => 0.9)).to.equal(2000);
  });

  it("'polynomiallyLonger' is executions⁴ + 2 seconds, with jitter on the executions⁴ part (ActiveJob)", () => {
    expect(retryWaitMs('x', settings({ wait: 'polynomiallyLonger' }), 1, undefined, () => 0)).to.equal(3_000);
    expect(retryWaitMs('x', settings({ wait: 'polynomiallyLonger' }), 3, undefined, () => 0)).to.equal(83_000);
    expect(retryWaitMs('x', settings({ wait: 'polynomiallyLonger', jitter: 0.5 }), 2, undefined, () => 0.5)).to.equal(16_000 + 4_000 + 2_000);
  });

  it('a function gets the executions and is taken as it is (no jitter)', () => {
    expect(retryWaitMs('x', settings({ wait: (n: number) => n * 1000 }), 4, undefined, () => 0.9)).to.equal(4000);
    expect(() => retryWaitMs('Sync.retryOn', settings({ wait: () => -1 }), 1, undefined)).to.throw(InvalidOptionError, 'Sync.retryOn.wait');
  });

  it('no wait: in place (undefined); jitter without a wait is refused', () => {
    expect(retryWaitSettings('Sync.retryOn', { attempts: 3 })).to.equal(undefined);
    expect(() => retryWaitSettings('Sync.retryOn', { jitter: 0.1 })).to.throw(InvalidOptionError, 'Sync.retryOn.jitter');
  });
});
