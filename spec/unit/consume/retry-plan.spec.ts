import { expect } from 'chai';
import fc from 'fast-check';
import { UnrecoverableError } from '../../../lib/errors.ts';
import type { DeadLetterQueueSettings, BackoffSettings } from '../../../lib/routing/route.ts';
import { RetryPlan, type AttemptLane, type FailedAttempt, type RetryStep } from '../../../lib/consume/retry-plan.ts';

const BACKOFF: BackoffSettings = { timeout: 1000, maxTimeout: 30_000, exponentialBackoff: true };

function plan(deadLetterQueue?: Partial<DeadLetterQueueSettings>, more: { backoff?: BackoffSettings; longRunningJob?: boolean } = {}): RetryPlan {
  return new RetryPlan({
    backoff: more.backoff ?? BACKOFF,
    deadLetterQueue: deadLetterQueue ? { topic: 'dlq', maxRetries: 3, independent: false, ...deadLetterQueue } : undefined,
    longRunningJob: more.longRunningJob ?? false,
  });
}

/**
 * A failed attempt of `lanes` (offsets per lane; the lanes listed in `failed` threw), with `done`
 * marked. One lane and not collapsed unless said.
 */
function attempt(lanes: number[][], options: { attempt?: number; collapsed?: boolean; failed?: number[]; done?: number[]; error?: Error } = {}): FailedAttempt {
  const done = new Set(options.done ?? []);
  const failed = new Set(options.failed ?? lanes.map((_, index) => index));
  return {
    attempt: options.attempt ?? 1,
    collapsed: options.collapsed ?? false,
    batch: lanes.flat().sort((a, b) => a - b),
    lanes: lanes.map((offsets, index): AttemptLane => ({ offsets, failed: failed.has(index) })),
    isDone: (offset) => done.has(offset),
    error: options.error ?? new Error('boom'),
  };
}

/** Fails the same single-lane batch again and again until the plan leaves the retry loop. */
function actionsUntilDeadLetter(retries: RetryPlan, batch: number[], limit: number): RetryStep['action'][] {
  const actions: RetryStep['action'][] = [];
  for (let n = 1; n <= limit; n += 1) {
    const step = retries.failed(attempt([batch], { attempt: n, collapsed: n > 1 }));
    actions.push(step.action);
    if (step.action !== 'retry') break;
  }
  return actions;
}

describe('retry plan (unit)', () => {
  describe('collapse', () => {
    it('a parallel failure is never dead-lettered: the guilty message is unknown, the retry runs collapsed and decides', () => {
      const retries = plan({ maxRetries: 1 });
      expect(retries.failed(attempt([[0, 2], [1, 3]]))).to.deep.equal({ action: 'retry', retryInMs: 1000 });
      expect(retries.failed(attempt([[0, 2], [1, 3]], { attempt: 2 })).action, 'still parallel: still unknown').to.equal('retry');
      expect(retries.failed(attempt([[0, 1, 2, 3]], { attempt: 3, collapsed: true }))).to.deep.equal({
        action: 'dead-letter',
        offset: 0,
        attempts: 3,
        topic: 'dlq',
        retryInMs: 4000,
      });
    });

    it('a batch that had one lane names its guilty message without collapsing', () => {
      expect(plan({ maxRetries: 0 }).failed(attempt([[4, 5, 6]], { done: [4] }))).to.include({ action: 'dead-letter', offset: 5 });
    });

    it('the collapsed run holds the messages not done, in batch order; none left means the batch is complete', () => {
      const batch = [10, 11, 12, 13].map((offset) => ({ offset }));
      const retries = plan();
      expect(retries.retryRun(batch, (offset) => offset === 11 || offset === 13)).to.deep.equal([{ offset: 10 }, { offset: 12 }]);
      expect(retries.retryRun(batch, () => true)).to.deep.equal([]);
    });

    it('the guilty message is the first of the batch not done, marks of this attempt included', () => {
      const retries = plan({ maxRetries: 0 });
      expect(retries.failed(attempt([[0, 1, 2, 3]], { collapsed: true, done: [0, 1] }))).to.include({ action: 'dead-letter', offset: 2 });
    });

    it('a failure that left every message done (a failed commit of the batch) is retried, never dead-lettered', () => {
      expect(plan({ maxRetries: 0 }).failed(attempt([[0, 1]], { collapsed: true, done: [0, 1] })).action).to.equal('retry');
    });
  });

  describe('backoff', () => {
    it('doubles from backoff.timeout up to backoff.maxTimeout with the attempt', () => {
      const retries = plan(undefined, { backoff: { timeout: 100, maxTimeout: 500, exponentialBackoff: true } });
      const waits = [1, 2, 3, 4, 5].map((n) => (retries.failed(attempt([[0]], { attempt: n })) as { retryInMs: number }).retryInMs);
      expect(waits).to.deep.equal([100, 200, 400, 500, 500]);
    });

    it('waits backoff.timeout every time without exponentialBackoff, and the same wait between tries of fencing', () => {
      const retries = plan(undefined, { backoff: { timeout: 300, maxTimeout: 30_000, exponentialBackoff: false } });
      expect([1, 5, 9].map((n) => retries.backoff(n))).to.deep.equal([300, 300, 300]);
      expect(plan().backoff(3)).to.equal(4000);
    });

    it('a dead-letter step carries the wait for when its dispatch fails', () => {
      expect(plan({ maxRetries: 1 }).failed(attempt([[0]], { attempt: 1 }))).to.deep.equal({ action: 'retry', retryInMs: 1000 });
      const retries = plan({ maxRetries: 1 });
      retries.failed(attempt([[0]]));
      expect(retries.failed(attempt([[0]], { attempt: 2, collapsed: true }))).to.include({ action: 'dead-letter', retryInMs: 2000 });
    });
  });

  describe('the dead-letter decision', () => {
    it('dead-letters after maxRetries + 1 failed attempts of the same message, with that count', () => {
      expect(actionsUntilDeadLetter(plan({ maxRetries: 2 }), [7], 10)).to.deep.equal(['retry', 'retry', 'dead-letter']);
      const retries = plan({ maxRetries: 2 });
      actionsUntilDeadLetter(retries, [7], 2);
      expect(retries.failed(attempt([[7]], { attempt: 3, collapsed: true }))).to.include({ attempts: 3, offset: 7 });
    });

    it('topic false skips the message instead of dead-lettering it', () => {
      expect(plan({ topic: false, maxRetries: 0 }).failed(attempt([[3]]))).to.deep.equal({ action: 'skip', offset: 3, attempts: 1, retryInMs: 1000 });
    });

    it('an UnrecoverableError of a known message skips the retries; of an unknown one it does not', () => {
      const error = new UnrecoverableError('gave up');
      expect(plan({ maxRetries: 5 }).failed(attempt([[3]], { error }))).to.include({ action: 'dead-letter', offset: 3, attempts: 1 });
      expect(plan({ maxRetries: 5 }).failed(attempt([[3], [4]], { error })).action).to.equal('retry');
    });

    it('without a dead-letter queue every failure is retried', () => {
      const retries = plan();
      const actions = [1, 2, 3, 4, 5, 6].map((n) => retries.failed(attempt([[1]], { attempt: n, collapsed: true, error: new UnrecoverableError('x') })).action);
      expect(actions).to.deep.equal(['retry', 'retry', 'retry', 'retry', 'retry', 'retry']);
    });
  });

  describe('budgets', () => {
    it('collective: failed attempts carry over to the next failing message until a batch succeeds', () => {
      const retries = plan({ maxRetries: 2, independent: false });
      expect(actionsUntilDeadLetter(retries, [1, 2], 10)).to.deep.equal(['retry', 'retry', 'dead-letter']);
      retries.deadLettered();
      expect(retries.failed(attempt([[1, 2]], { attempt: 4, collapsed: true, done: [1] }))).to.include({ action: 'dead-letter', offset: 2, attempts: 4 });
      retries.deadLettered();
      retries.succeeded();
      expect(actionsUntilDeadLetter(retries, [9], 10)).to.deep.equal(['retry', 'retry', 'dead-letter']);
    });

    it('independent: every message has its own maxRetries + 1 attempts', () => {
      const retries = plan({ maxRetries: 2, independent: true });
      expect(actionsUntilDeadLetter(retries, [1, 2], 10)).to.deep.equal(['retry', 'retry', 'dead-letter']);
      retries.deadLettered();
      const second = [4, 5, 6].map((n) => retries.failed(attempt([[1, 2]], { attempt: n, collapsed: true, done: [1] })).action);
      expect(second).to.deep.equal(['retry', 'retry', 'dead-letter']);
    });

    it('independent: a parallel failure is charged to the message each failed lane stopped at, not to lanes that returned', () => {
      const retries = plan({ maxRetries: 1, independent: true });
      // Lane 0 stopped at 2 (0 done), lane 1 returned without marking 3, lane 2 stopped at 4.
      retries.failed(attempt([[0, 2], [1, 3], [4]], { failed: [0, 2], done: [0, 1] }));
      expect(retries.failed(attempt([[2, 3, 4]], { attempt: 2, collapsed: true }))).to.include({ action: 'dead-letter', offset: 2, attempts: 2 });
      retries.deadLettered();
      expect(retries.failed(attempt([[3, 4]], { attempt: 3, collapsed: true })), 'the lane that returned was not charged').to.include({ action: 'retry' });
      expect(retries.failed(attempt([[4]], { attempt: 4, collapsed: true }))).to.include({ action: 'dead-letter', offset: 4, attempts: 2 });
    });

    it('collective: a parallel failure counts once for the partition', () => {
      const retries = plan({ maxRetries: 1, independent: false });
      retries.failed(attempt([[0, 2], [1, 3]]));
      expect(retries.failed(attempt([[0, 1, 2, 3]], { attempt: 2, collapsed: true }))).to.include({ action: 'dead-letter', offset: 0, attempts: 2 });
    });

    it('a success refills every budget', () => {
      for (const independent of [false, true]) {
        const retries = plan({ maxRetries: 1, independent });
        retries.failed(attempt([[5]]));
        retries.succeeded();
        expect(retries.failed(attempt([[5]])).action, `independent: ${independent}`).to.equal('retry');
      }
    });
  });

  describe('long-running pauses', () => {
    it('a longRunningJob() route holds fetching while a batch runs; others only while backing off', () => {
      expect(plan(undefined, { longRunningJob: true }).holdsFetchingWhileRunning).to.equal(true);
      expect(plan().holdsFetchingWhileRunning).to.equal(false);
    });

    it('a long-running route backs off as any other: the same waits, the same decision', () => {
      const longRunning = plan({ maxRetries: 1 }, { longRunningJob: true });
      const plain = plan({ maxRetries: 1 });
      for (const n of [1, 2]) {
        const failure = attempt([[8]], { attempt: n, collapsed: n > 1 });
        expect(longRunning.failed(failure)).to.deep.equal(plain.failed(failure));
      }
    });
  });

  describe('properties', () => {
    const settings = fc.record({
      maxRetries: fc.integer({ min: 0, max: 5 }),
      independent: fc.boolean(),
      topic: fc.constantFrom<string | false>('dlq', false),
    });
    const failure = fc
      .uniqueArray(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 12 })
      .chain((offsets) =>
        fc.record({
          offsets: fc.constant([...offsets].sort((a, b) => a - b)),
          laneOf: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: offsets.length, maxLength: offsets.length }),
          done: fc.subarray(offsets),
          failedLanes: fc.subarray([0, 1, 2, 3]),
          collapsed: fc.boolean(),
          attempt: fc.integer({ min: 1, max: 40 }),
          unrecoverable: fc.boolean(),
        }),
      );

    it('only a known guilty message leaves the loop, and it is the first of the batch not done', () => {
      fc.assert(
        fc.property(fc.option(settings, { nil: undefined }), failure, (deadLetterQueue, f) => {
          const byLane = new Map<number, number[]>();
          f.offsets.forEach((offset, index) => byLane.set(f.laneOf[index]!, [...(byLane.get(f.laneOf[index]!) ?? []), offset]));
          const lanes = [...byLane.entries()].map(([id, offsets]) => ({ offsets, failed: f.failedLanes.includes(id) }));
          const done = new Set(f.done);
          const step = plan(deadLetterQueue).failed({
            attempt: f.attempt,
            collapsed: f.collapsed,
            batch: f.offsets,
            lanes,
            isDone: (offset) => done.has(offset),
            error: f.unrecoverable ? new UnrecoverableError('x') : new Error('x'),
          });
          expect(step.retryInMs).to.equal(Math.min(1000 * 2 ** Math.min(f.attempt - 1, 30), 30_000));
          if (step.action === 'retry') return;
          expect(deadLetterQueue, 'a dead-letter queue is configured').to.not.equal(undefined);
          expect(f.collapsed || lanes.length === 1, 'the attempt ran as one lane').to.equal(true);
          expect(step.offset).to.equal(f.offsets.find((offset) => !done.has(offset)));
          expect(step.action).to.equal(deadLetterQueue!.topic === false ? 'skip' : 'dead-letter');
        }),
      );
    });

    it('a message failing alone is dead-lettered exactly at attempt maxRetries + 1 (at once when unrecoverable), in either budget', () => {
      fc.assert(
        fc.property(settings, fc.boolean(), (deadLetterQueue, unrecoverable) => {
          const retries = plan(deadLetterQueue);
          const error = unrecoverable ? new UnrecoverableError('x') : new Error('x');
          let n = 1;
          for (; n <= 10; n += 1) if (retries.failed(attempt([[3]], { attempt: n, collapsed: n > 1, error })).action !== 'retry') break;
          expect(n).to.equal(unrecoverable ? 1 : deadLetterQueue.maxRetries + 1);
        }),
      );
    });
  });
});
