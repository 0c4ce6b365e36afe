import { expect } from 'chai';
import { closeDispatcher, InvalidOptionError, Job, UnrecoverableError } from '../../../lib/index.ts';
import { useTestDispatcher } from '../../../lib/testing/index.ts';

const executions: string[] = [];

/** A job whose attempts and retry wait come from its own arguments (per-job retry settings). */
class PerJobRetries extends Job<[id: string, attempts: number, waitMs?: number]> {
  static override options = { topic: 'retries' };
  static {
    this.retryOn(Error, { attempts: (job) => job.arguments[1] });
  }
  async perform(id: string): Promise<void> {
    executions.push(id);
    throw new Error(`${id} fails`);
  }
}

class WaitFromJob extends Job<[id: string, waitMs: number]> {
  static override options = { topic: 'retries' };
  static {
    this.retryOn(Error, { attempts: 3, wait: (done, job) => job.arguments[1] * done, jitter: 0 });
  }
  async perform(): Promise<void> {
    throw new Error('later');
  }
}

class GivesUpAtOnce extends Job<[id: string]> {
  static override options = { topic: 'retries' };
  static {
    this.retryOn(Error, { attempts: 5 });
  }
  async perform(id: string): Promise<void> {
    executions.push(id);
    throw new UnrecoverableError(`${id} cannot succeed`);
  }
}

describe('retryOn with per-job settings (no broker)', () => {
  beforeEach(() => void executions.splice(0));
  afterEach(() => closeDispatcher());

  it('takes attempts from a function of the job', async () => {
    const jobs = await useTestDispatcher({ jobs: [PerJobRetries] });
    await PerJobRetries.performLater('twice', 2);
    const failure = await jobs.performEnqueuedJobs().catch((e: unknown) => e);
    expect(failure).to.be.instanceOf(UnrecoverableError);
    expect(String(failure)).to.contain('failed 2 times');
    expect(executions).to.deep.equal(['twice', 'twice']);
  });

  it('refuses an attempts function that returns no count, naming the option', async () => {
    const jobs = await useTestDispatcher({ jobs: [PerJobRetries] });
    await PerJobRetries.performLater('bad', 0);
    const failure = await jobs.performEnqueuedJobs().catch((e: unknown) => e);
    expect(failure).to.be.instanceOf(InvalidOptionError);
    expect(String(failure)).to.contain('PerJobRetries.retryOn.attempts');
  });

  it('gives the failed job to a wait function', async () => {
    const jobs = await useTestDispatcher({ jobs: [WaitFromJob] });
    await WaitFromJob.performLater('w', 60_000);
    const before = Date.now();
    await jobs.performEnqueuedJobs();
    const [retry] = jobs.enqueuedJobs();
    expect(retry?.scheduledAt!.getTime()).to.be.within(before + 60_000, Date.now() + 60_000);
  });

  it('never retries an UnrecoverableError, even under a retryOn rule that matches it', async () => {
    const jobs = await useTestDispatcher({ jobs: [GivesUpAtOnce] });
    await GivesUpAtOnce.performLater('once');
    const failure = await jobs.performEnqueuedJobs().catch((e: unknown) => e);
    expect(failure).to.be.instanceOf(UnrecoverableError);
    expect(executions).to.deep.equal(['once']);
  });
});
