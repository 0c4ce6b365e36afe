import { Cron } from 'croner';
import { InvalidOptionError } from '../errors.ts';

/**
 * What happens to ticks that are due for longer than the catch-up window (nobody enqueued them:
 * every worker was down, or a takeover took that long): `'run-once'` enqueues the newest of them
 * once, `'skip'` enqueues none of them.
 */
export type MissedTickPolicy = 'run-once' | 'skip';

/** The missed-tick policies, for validation and messages. */
export const MISSED_TICK_POLICIES: readonly MissedTickPolicy[] = ['run-once', 'skip'];

/**
 * A cron expression in a time zone, parsed by croner: 5 fields (minute precision) or 6 (a leading
 * seconds field), names (`MON`, `JAN`) and nicknames (`@daily`, `@hourly`). Day of month and day of
 * week combine with OR, as in Vixie cron. Daylight-saving time follows croner: a fixed-time
 * expression (single values for second, minute and hour, e.g. `30 2 * * *`) whose time falls in a
 * gap runs at the first time after the gap, and once when the time occurs twice; an interval
 * expression (`*\/30 * * * *`) skips the times of a gap and runs on both occurrences of a repeated time.
 */
export class CronSchedule {
  /** The expression as given. */
  readonly expression: string;
  /** The IANA time zone the expression is read in. */
  readonly timezone: string;
  readonly #cron: Cron;

  /**
   * Parses `expression` in `timezone`; throws an {@link InvalidOptionError} naming `option` when
   * either is invalid, or when the expression never matches a time (e.g. `0 0 30 2 *`).
   * @param timezone IANA name, e.g. `Europe/Berlin`. @defaultValue `'UTC'`
   */
  constructor(option: string, expression: string, timezone = 'UTC') {
    if (typeof expression !== 'string' || expression.trim() === '') {
      throw new InvalidOptionError(`${option}.cron`, `expected a cron expression such as '0 3 * * *', got ${JSON.stringify(expression)}`);
    }
    if (typeof timezone !== 'string' || !isTimeZone(timezone)) {
      throw new InvalidOptionError(`${option}.timezone`, `expected an IANA time zone such as 'Europe/Berlin' or 'UTC', got ${JSON.stringify(timezone)}`);
    }
    try {
      this.#cron = new Cron(expression, { paused: true, timezone, mode: '5-or-6-parts' });
    } catch (error) {
      throw new InvalidOptionError(`${option}.cron`, `${JSON.stringify(expression)} is not a cron expression: ${(error as Error).message}`);
    }
    this.expression = expression;
    this.timezone = timezone;
    if (this.next(Date.now()) === undefined) {
      throw new InvalidOptionError(`${option}.cron`, `${JSON.stringify(expression)} never matches a time; check its day and month fields`);
    }
  }

  /** The first tick strictly after `after` (ms since the epoch), or undefined when there is none. */
  next(after: number): number | undefined {
    return this.#cron.nextRun(new Date(after))?.getTime();
  }

  /** The newest tick at or before `atOrBefore`, or undefined when there is none. */
  latest(atOrBefore: number): number | undefined {
    return this.#cron.previousRuns(1, new Date(atOrBefore + 1))[0]?.getTime();
  }
}

/** Where a schedule stands and what the clock says: the input of {@link planTicks}. */
export interface TickPlanInput {
  /** Every tick up to this instant is handled (enqueued or skipped), in ms since the epoch. */
  lastTick: number;
  /** The current time, in ms since the epoch. */
  now: number;
  /** Ticks due for at most this long are each enqueued; older ones are missed. */
  catchUpWindowMs: number;
  /** What happens to missed ticks. */
  missed: MissedTickPolicy;
  /** Most ticks one plan enqueues (the oldest first); the rest wait for the next plan. */
  maxTicks: number;
}

/** What to do now for one schedule. */
export interface TickPlan {
  /** The ticks to enqueue, oldest first, one job each. */
  enqueue: number[];
  /** The missed ticks that the policy leaves out (`first` to `last`), when there are any. */
  skipped: { first: number; last: number } | undefined;
  /** The schedule's new `lastTick` once `enqueue` is done; `lastTick` itself when nothing changed. */
  lastTick: number;
}

/**
 * Plans the ticks of a schedule that are due at `now` and not handled yet (after `lastTick`):
 * those due for at most `catchUpWindowMs` are enqueued one by one, oldest first (a takeover or a
 * short stall loses none); older ones are missed, and `run-once` enqueues only the newest of them
 * while `skip` enqueues none. Never more than `maxTicks`, never a tick at or before `lastTick`.
 */
export function planTicks(schedule: CronSchedule, input: TickPlanInput): TickPlan {
  const { lastTick, now, catchUpWindowMs, missed, maxTicks } = input;
  const enqueue: number[] = [];
  let skipped: TickPlan['skipped'];
  let handled = lastTick;
  const windowStart = now - catchUpWindowMs;
  const newestMissed = windowStart > lastTick ? schedule.latest(windowStart) : undefined;
  if (newestMissed !== undefined && newestMissed > lastTick) {
    const first = schedule.next(lastTick)!;
    if (missed === 'run-once') {
      enqueue.push(newestMissed);
      if (first < newestMissed) skipped = { first, last: schedule.latest(newestMissed - 1)! };
    } else {
      skipped = { first, last: newestMissed };
    }
    handled = newestMissed;
  }
  for (let tick = schedule.next(handled); tick !== undefined && tick <= now && enqueue.length < maxTicks; tick = schedule.next(tick)) {
    enqueue.push(tick);
  }
  return { enqueue, skipped, lastTick: enqueue.length > 0 ? enqueue[enqueue.length - 1]! : handled };
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
