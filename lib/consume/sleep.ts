import { MAX_TIMER_MS } from '../validation.ts';

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects). A wait longer than a timer
 * can take ({@link MAX_TIMER_MS}) is spent in several timers instead of firing at once.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (!(ms > 0) || signal.aborted) return resolve();
    const until = Date.now() + ms;
    let timer = setTimeout(tick, Math.min(ms, MAX_TIMER_MS));
    function tick() {
      const left = until - Date.now();
      if (left > 0) timer = setTimeout(tick, Math.min(left, MAX_TIMER_MS));
      else done();
    }
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
