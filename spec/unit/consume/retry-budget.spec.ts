import { expect } from 'chai';
import { RetryBudget } from '../../../lib/consume/retry-budget.ts';
import { RouteValidationError } from '../../../lib/errors.ts';
import { RoutesBuilder } from '../../../lib/routing/route.ts';

describe('retry budget and DLQ route validation (unit)', () => {
  it('dead-letters after maxRetries + 1 failed attempts', () => {
    const budget = new RetryBudget({ topic: 'dlq', maxRetries: 2, independent: false });
    expect([budget.failed(5), budget.failed(5), budget.failed(5)]).to.deep.equal(['retry', 'retry', 'dead-letter']);
  });

  it('maxRetries 0 dead-letters on the first failure (D2)', () => {
    expect(new RetryBudget({ topic: 'dlq', maxRetries: 0, independent: false }).failed(1)).to.equal('dead-letter');
  });

  it('never dead-letters while the guilty message is unknown (parallel lanes)', () => {
    const budget = new RetryBudget({ topic: 'dlq', maxRetries: 1, independent: false });
    expect(budget.failed(undefined)).to.equal('retry');
    expect(budget.failed(7)).to.equal('dead-letter');
  });

  it('collective: attempts carry over to the next failing message; independent: each has its own (D5)', () => {
    const collective = new RetryBudget({ topic: 'dlq', maxRetries: 2, independent: false });
    collective.failed(1);
    collective.failed(1);
    expect(collective.failed(1)).to.equal('dead-letter');
    collective.deadLettered();
    expect(collective.failed(2)).to.equal('dead-letter');

    const independent = new RetryBudget({ topic: 'dlq', maxRetries: 2, independent: true });
    independent.failed(1);
    independent.failed(1);
    expect(independent.failed(1)).to.equal('dead-letter');
    independent.deadLettered();
    expect([independent.failed(2), independent.failed(2), independent.failed(2)]).to.deep.equal(['retry', 'retry', 'dead-letter']);
  });

  it('independent: a parallel failure counts for the first unfinished message of each lane, so each job gets maxRetries + 1 attempts', () => {
    const budget = new RetryBudget({ topic: 'dlq', maxRetries: 2, independent: true });
    expect(budget.failed(undefined, false, [3, 8])).to.equal('retry');
    expect([budget.failed(3), budget.failed(3)]).to.deep.equal(['retry', 'dead-letter']);
    expect(budget.attempts).to.equal(3);
    budget.deadLettered();
    expect([budget.failed(8), budget.failed(8)]).to.deep.equal(['retry', 'dead-letter']);
    expect(budget.attempts).to.equal(3);
  });

  it('a job route dead-letters per job by default; a consumer route and an explicit false keep the collective budget', () => {
    const routes = new RoutesBuilder()
      .activeJobTopic('jobs', (t) => t.deadLetterQueue({ topic: 'jobs.dlq' }))
      .activeJobTopic('jobs-collective', (t) => t.deadLetterQueue({ topic: 'jobs-collective.dlq', independent: false }))
      .topic('events', class {}, (t) => t.deadLetterQueue({ topic: 'events.dlq' }))
      .topic('events-independent', class {}, (t) => t.deadLetterQueue({ topic: 'events-independent.dlq', independent: true }))
      .pattern(/^queue\./, (t) => t.deadLetterQueue({ topic: 'queues.dlq' }));
    expect(routes.routes.map((route) => route.deadLetterQueue?.independent)).to.deep.equal([true, false, false, true]);
    expect(routes.patterns[0]!.template.deadLetterQueue?.independent).to.equal(true);
  });

  it('a success refills the budget', () => {
    const budget = new RetryBudget({ topic: 'dlq', maxRetries: 1, independent: false });
    budget.failed(1);
    budget.succeeded();
    expect(budget.failed(2)).to.equal('retry');
  });

  it('unrecoverable failures of a known message skip the retries', () => {
    const budget = new RetryBudget({ topic: 'dlq', maxRetries: 5, independent: false });
    expect(budget.failed(undefined, true)).to.equal('retry');
    expect(budget.failed(3, true)).to.equal('dead-letter');
  });

  it('without a DLQ everything is retried', () => {
    const budget = new RetryBudget(undefined);
    for (let i = 0; i < 10; i += 1) expect(budget.failed(1, true)).to.equal('retry');
  });

  it('D7: virtual partitions with maxRetries 0 are refused, saying why', () => {
    const routes = new RoutesBuilder();
    expect(() =>
      routes.activeJobTopic('jobs', (t) => t.virtualPartitions({ partitioner: (m) => m.key }).deadLetterQueue({ topic: 'jobs.dlq', maxRetries: 0 })),
    ).to.throw(RouteValidationError, /maxRetries 0 cannot be combined with virtualPartitions.*guilty message/);
    expect(() => routes.activeJobTopic('ok', (t) => t.virtualPartitions({ partitioner: (m) => m.key }).deadLetterQueue({ topic: 'ok.dlq', maxRetries: 1 }))).to.not.throw();
  });

  it('refuses a DLQ that is the route topic itself, and bad options by name', () => {
    const routes = new RoutesBuilder();
    expect(() => routes.activeJobTopic('loop', (t) => t.deadLetterQueue({ topic: 'loop' }))).to.throw(/routes.loop.deadLetterQueue.topic/);
    expect(() => routes.activeJobTopic('neg', (t) => t.deadLetterQueue({ topic: 'x', maxRetries: -1 }))).to.throw(/routes.neg.deadLetterQueue.maxRetries/);
  });
});
