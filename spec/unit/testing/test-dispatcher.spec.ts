import { AssertionError } from 'node:assert';
import { expect } from 'chai';
import { closeDispatcher, Job, SerializationError, UnknownJobClassError, UnrecoverableError } from '../../../lib/index.ts';
import { EndlessJobsError, useTestDispatcher, type TestDispatcher } from '../../../lib/testing/index.ts';

const log: string[] = [];

class Receipt {
  constructor(readonly total: number) {}
  describe(): string {
    return `total ${this.total}`;
  }
}

class SendEmail extends Job<[userId: string, at?: Date]> {
  static override options = { topic: 'mail', partitioner: (job: Job<any[]>) => String(job.arguments[0]) };
  async perform(userId: string, at?: Date): Promise<void> {
    log.push(`email ${userId}${at ? ` ${at.toISOString()}` : ''}`);
  }
}
SendEmail.beforePerform((job) => void log.push(`before ${job.jobId === '' ? '?' : 'email'}`));

class SignUp extends Job<[userId: string]> {
  static override options = { topic: 'accounts' };
  async perform(userId: string): Promise<void> {
    log.push(`signup ${userId}`);
    await SendEmail.performLater(userId);
  }
}

class PrintReceipt extends Job<[receipt: Receipt]> {
  async perform(receipt: Receipt): Promise<void> {
    log.push(receipt.describe());
  }
}

class Tally extends Job<[counts: Map<string, bigint>, tags: Set<string>]> {
  async perform(counts: Map<string, bigint>, tags: Set<string>): Promise<void> {
    log.push(`${counts.constructor.name} ${[...counts].map(([k, v]) => `${k}=${v}n`).join()}, ${tags.constructor.name} ${[...tags].join()}`);
  }
}

class Echo extends Job<[depth: number]> {
  async perform(depth: number): Promise<void> {
    await Echo.performLater(depth + 1);
  }
}

class Flaky extends Error {}
class Gone extends Error {}
let flakyFailures = 0;
class Charge extends Job<[amount: number]> {
  async perform(amount: number): Promise<void> {
    if (flakyFailures > 0) {
      flakyFailures -= 1;
      throw new Flaky(`flaky charge of ${amount}`);
    }
    if (amount < 0) throw new Gone('card gone');
    log.push(`charged ${amount} after ${this.executions} executions`);
  }
}
Charge.retryOn(Flaky, { attempts: 3 });
Charge.discardOn(Gone);
Charge.afterDiscard((job, error) => void log.push(`discarded ${job.jobClass}: ${error.message}`));

class Timeout extends Error {}
class Sync extends Job<[]> {
  async perform(): Promise<void> {
    if (this.executions === 1) throw new Timeout('first run times out');
    log.push(`synced at execution ${this.executions}`);
  }
}
Sync.retryOn(Timeout, { attempts: 3, wait: 20 });

const jobs = [SendEmail, SignUp, PrintReceipt, Tally, Echo, Charge, Sync];

describe('partita/testing: TestDispatcher', () => {
  let testing: TestDispatcher;

  beforeEach(async () => {
    log.length = 0;
    flakyFailures = 0;
    testing = await useTestDispatcher({ jobs });
  });

  afterEach(() => closeDispatcher());

  it('captures performLater, performAllLater and set({ wait }) through the real dispatcher and envelope', async () => {
    const before = Date.now();
    await SendEmail.performLater('u-1');
    await Job.performAllLater([new SendEmail('u-2'), new SignUp('u-3')]);
    await SendEmail.set({ wait: 60_000 }).performLater('u-4');

    expect(testing.enqueuedJobs().map((job) => [job.jobClass, job.args, job.topic])).to.deep.equal([
      ['SendEmail', ['u-1'], 'mail'],
      ['SendEmail', ['u-2'], 'mail'],
      ['SignUp', ['u-3'], 'accounts'],
      ['SendEmail', ['u-4'], 'mail'],
    ]);
    const scheduled = testing.assertEnqueuedWith(SendEmail, { args: ['u-4'], topic: 'mail', key: 'u-4', at: { from: new Date(before + 60_000), to: new Date(Date.now() + 60_000) } });
    expect(scheduled.delayTopic).to.match(/^mail\.delay\./);
    testing.assertEnqueuedWith(SendEmail, { at: scheduled.scheduledAt! });
    testing.assertEnqueuedWith(SignUp, { args: ['u-3'] });
    expect(testing.messages()).to.have.length(4);
  });

  it('fails assertions with what was expected and what was enqueued', async () => {
    await SendEmail.performLater('u-1');
    let failure: unknown;
    try {
      testing.assertEnqueuedWith(SendEmail, { args: ['u-2'] });
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(AssertionError);
    expect((failure as Error).message).to.contain("Expected a SendEmail job enqueued with { args: [ 'u-2' ] }");
    expect((failure as Error).message).to.contain("enqueued (1):\n  { jobClass: 'SendEmail', args: [ 'u-1' ], topic: 'mail', key: 'u-1' }");
    expect(() => testing.assertEnqueuedWith(SignUp)).to.throw(AssertionError, 'Expected a SignUp job enqueued with any arguments');
    expect(() => testing.assertEnqueuedWith(SendEmail, { at: new Date() })).to.throw(AssertionError);
    expect(() => testing.assertNoEnqueuedJobs()).to.throw(AssertionError, /Expected no jobs enqueued; enqueued \(1\)/);
    testing.assertNoEnqueuedJobs(SignUp);
    testing.clearEnqueuedJobs();
    testing.assertNoEnqueuedJobs();
    expect(testing.messages()).to.deep.equal([]);
  });

  it('performs enqueued jobs with their callbacks, and the jobs they enqueue meanwhile', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    await SignUp.performLater('u-1');
    await SendEmail.performLater('u-2', at);

    const performed = await testing.performEnqueuedJobs();

    expect(performed.map((job) => job.jobClass)).to.deep.equal(['SignUp', 'SendEmail', 'SendEmail']);
    expect(log).to.deep.equal(['signup u-1', 'before email', `email u-2 ${at.toISOString()}`, 'before email', 'email u-1']);
    testing.assertNoEnqueuedJobs();
    expect(testing.performedJobs()).to.have.length(3);
  });

  it('surfaces serialization mistakes at enqueue, and performs with the arguments a worker decodes', async () => {
    await expectRejection(PrintReceipt.performLater(new Receipt(12)), SerializationError, 'arguments[0] is an instance of Receipt');
    testing.assertNoEnqueuedJobs();

    await Tally.performLater(new Map([['a', 1n]]), new Set(['x']));
    await testing.performEnqueuedJobs();
    expect(log).to.deep.equal(['Map a=1n, Set x']);
  });

  it('bounds jobs that enqueue each other without end', async () => {
    await Echo.performLater(0);
    const error = await expectRejection(testing.performEnqueuedJobs({ maxJobs: 25 }), EndlessJobsError, 'performed 25 jobs (maxJobs)');
    expect(error.message).to.contain("{ jobClass: 'Echo', args: [ 25 ], topic: 'default' }");
  });

  it('applies retryOn in place, discardOn and afterDiscard as the worker does', async () => {
    flakyFailures = 2;
    await Charge.performLater(10);
    await Charge.performLater(-1);
    await testing.performEnqueuedJobs();
    expect(log).to.deep.equal(['charged 10 after 3 executions', 'discarded Charge: card gone']);

    log.length = 0;
    flakyFailures = 3;
    await Charge.performLater(20);
    const error = await expectRejection(testing.performEnqueuedJobs(), UnrecoverableError, 'failed 3 times with Flaky: flaky charge of 20');
    expect(error.cause).to.be.instanceOf(Flaky);
    expect(log).to.deep.equal(['discarded Charge: flaky charge of 20']);
  });

  it('enqueues a retryOn retry with a wait through the delay tiers, and performs it when due', async () => {
    await Sync.performLater();
    expect(await testing.performEnqueuedJobs()).to.have.length(1);
    const retry = testing.assertEnqueuedWith(Sync, { args: [] });
    expect(retry.executions).to.equal(1);
    expect(retry.exceptionExecutions).to.deep.equal({ '[Timeout]': 1 });
    expect(retry.delayTopic).to.equal('default.delay.100ms');
    expect(log).to.deep.equal([]);

    await testing.performEnqueuedJobs({ scheduled: 'wait' });
    expect(log).to.deep.equal(['synced at execution 2']);
    testing.assertNoEnqueuedJobs();
  });

  it('performs only the classes asked for, and refuses classes a worker would not know', async () => {
    await SignUp.performLater('u-1');
    await Charge.performLater(5);
    await testing.performEnqueuedJobs({ only: [Charge] });
    expect(log).to.deep.equal(['charged 5 after 1 executions']);
    testing.assertEnqueuedWith(SignUp, { args: ['u-1'] });

    const narrow = await useTestDispatcher({ jobs: [Charge] });
    await SignUp.performLater('u-2');
    await expectRejection(narrow.performEnqueuedJobs(), UnknownJobClassError, 'SignUp');
  });
});

async function expectRejection<E extends Error>(promise: Promise<unknown>, errorClass: new (...args: any[]) => E, text: string): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(errorClass);
    expect((error as Error).message).to.contain(text);
    return error as E;
  }
  throw new Error(`expected a rejection with ${errorClass.name}`);
}
