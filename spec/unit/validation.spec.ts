import { expect } from 'chai';
import { createApp } from '../../lib/app.ts';
import { sleep } from '../../lib/consume/sleep.ts';
import { InvalidOptionError } from '../../lib/errors.ts';
import { RoutesBuilder } from '../../lib/routing/route.ts';
import { MAX_TIMER_MS } from '../../lib/validation.ts';

class Noop {}

describe('timers longer than a Node.js timer can wait (unit)', () => {
  it('a sleep longer than 2^31-1 ms does not fire at once; it ends when its signal aborts', async () => {
    const abort = new AbortController();
    let slept = false;
    const sleeping = sleep(MAX_TIMER_MS + 1_000, abort.signal).then(() => (slept = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(slept, 'the long sleep resolved early').to.equal(false);
    abort.abort();
    await sleeping;
    expect(slept).to.equal(true);
  });

  it('backoff timeouts above 2^31-1 ms are refused, naming the option', () => {
    expect(() => new RoutesBuilder().topic('orders', Noop as never, (t) => t.backoff({ maxTimeout: MAX_TIMER_MS + 1 }))).to.throw(
      InvalidOptionError,
      /routes\.orders\.backoff\.maxTimeout.*longer than a timer can wait/,
    );
    expect(() => createApp({ backoff: { timeout: 3e9 }, kafka: { brokers: ['127.0.0.1:1'] } })).to.throw(InvalidOptionError, /createApp\.backoff\.timeout/);
    expect(() => createApp({ shutdownTimeoutMs: 2 ** 32, kafka: { brokers: ['127.0.0.1:1'] } })).to.throw(InvalidOptionError, /createApp\.shutdownTimeoutMs/);
    expect(() => new RoutesBuilder().topic('orders', Noop as never, (t) => t.backoff({ timeout: MAX_TIMER_MS, maxTimeout: MAX_TIMER_MS }))).to.not.throw();
  });
});
