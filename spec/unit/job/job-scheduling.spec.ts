import { expect } from 'chai';
import { InvalidOptionError } from '../../../lib/errors.ts';
import { Job } from '../../../lib/job/job.ts';

describe('scheduling options (unit)', () => {
  class SendEmail extends Job<[to: string]> {
    static override options = { topic: 'mail' };
    perform() {}
  }
  class Flaky extends Job<[]> {
    perform() {}
  }

  const refused: [string, () => unknown, string][] = [
    ['a negative wait', () => SendEmail.set({ wait: -1 }), 'SendEmail.set().wait'],
    ['a wait that is not a number', () => SendEmail.set({ wait: '5s' as never }), 'SendEmail.set().wait'],
    ['an infinite wait', () => SendEmail.set({ wait: Infinity }), 'SendEmail.set().wait'],
    ['waitUntil that is not a Date', () => SendEmail.set({ waitUntil: Date.now() as never }), 'SendEmail.set().waitUntil'],
    ['an invalid Date', () => SendEmail.set({ waitUntil: new Date('nope') }), 'SendEmail.set().waitUntil'],
    ['wait and waitUntil together', () => SendEmail.set({ wait: 1, waitUntil: new Date() }), 'SendEmail.set()'],
    ['an unknown option', () => SendEmail.set({ delay: 5 } as never), 'SendEmail.set().delay'],
    ['retryOn with a bad wait', () => Flaky.retryOn(Error, { wait: 'exponentially' as never }), 'Flaky.retryOn.wait'],
    ['retryOn with a negative jitter', () => Flaky.retryOn(Error, { wait: 1000, jitter: -0.5 }), 'Flaky.retryOn.jitter'],
    ['retryOn with an unknown option', () => Flaky.retryOn(Error, { delay: 5 } as never), 'Flaky.retryOn.delay'],
    ['retryOn with zero attempts', () => Flaky.retryOn(Error, { attempts: 0, wait: 10 }), 'Flaky.retryOn.attempts'],
  ];
  for (const [name, call, option] of refused) {
    it(`refuses ${name}, naming ${option}`, () => {
      expect(call).to.throw(InvalidOptionError, option);
    });
  }

  it('puts scheduled_at in the envelope', () => {
    const job = new SendEmail('a@b');
    job.scheduledAt = new Date('2030-01-01T00:00:00.000Z');
    expect(job.serialize().scheduled_at).to.equal('2030-01-01T00:00:00.000Z');
    expect(new SendEmail('a@b').serialize()).to.not.have.property('scheduled_at');
  });
});
