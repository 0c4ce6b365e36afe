import { InvalidOptionError } from '../errors.ts';
import { refuseUnknownOptions } from '../validation.ts';
import { assertArgumentsRoundTrip } from '../job/envelope.ts';
import { jobNameOf, jobOptionsOf, type JobClass } from '../job/job.ts';
import { CronSchedule, MISSED_TICK_POLICIES, type MissedTickPolicy } from '../schedule/cron.ts';

/** Options of `r.recurring(name, cron, JobClass, args, options)`. */
export interface RecurringOptions {
  /**
   * The IANA time zone the cron expression is read in (daylight-saving changes included).
   * @defaultValue `'UTC'`
   */
  timezone?: string;
  /**
   * Ticks due for longer than `catchUpWindowMs` that nobody enqueued (every worker was down):
   * `'run-once'` enqueues the newest of them once, `'skip'` none of them.
   * @defaultValue `'run-once'`
   */
  missed?: MissedTickPolicy;
  /**
   * Ticks due for at most this long when a worker takes the ticker over (after a crash, a
   * restart, a rebalance) are still enqueued one by one, so a takeover loses none; older ones are
   * missed (see `missed`). From 1 000 ms to 24 hours.
   * @defaultValue 60 000 (one minute, Quartz's misfire threshold)
   */
  catchUpWindowMs?: number;
}

/** A declared recurring job: data only; the consume layer's ticker acts on it. */
export interface RecurringDefinition {
  /** Unique name of the schedule in the app: the key of its state record. */
  name: string;
  /** The parsed cron expression and time zone. */
  schedule: CronSchedule;
  /** The job class enqueued at every tick. */
  jobClass: JobClass;
  /** The arguments each enqueued job gets. */
  args: unknown[];
  /** See {@link RecurringOptions.missed}. */
  missed: MissedTickPolicy;
  /** See {@link RecurringOptions.catchUpWindowMs}. */
  catchUpWindowMs: number;
}

/** The defaults of {@link RecurringOptions} (listed in the configuration table, `lib/config.ts`). */
export const RECURRING_DEFAULTS = { timezone: 'UTC', missed: 'run-once', catchUpWindowMs: 60_000 } as const satisfies Required<RecurringOptions>;
const MAX_CATCH_UP_WINDOW_MS = 24 * 3_600_000;
const RECURRING_OPTIONS = { timezone: true, missed: true, catchUpWindowMs: true } satisfies Record<keyof RecurringOptions, true>;

/**
 * Validates a `recurring(...)` declaration and returns its definition; every problem is an
 * {@link InvalidOptionError} naming `routes.recurring.<name>...`, except arguments that would not
 * survive the envelope (a `SerializationError`, as `performLater` throws): found at declaration,
 * not at the first tick.
 */
export function defineRecurring(name: string, cron: string, jobClass: JobClass, args: readonly unknown[], options: RecurringOptions): RecurringDefinition {
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,200}$/.test(name)) {
    throw new InvalidOptionError('routes.recurring', `expected a name of letters, digits, '.', '_' or '-' (at most 200), got ${JSON.stringify(name)}`);
  }
  const option = `routes.recurring.${name}`;
  if (typeof jobClass !== 'function') throw new InvalidOptionError(`${option}.job`, `expected a Job subclass, got ${typeof jobClass}`);
  jobOptionsOf(jobClass);
  if (!Array.isArray(args)) throw new InvalidOptionError(`${option}.args`, `expected the job's arguments as an array, got ${typeof args}`);
  assertArgumentsRoundTrip(jobNameOf(jobClass), args);
  if (options === null || typeof options !== 'object') throw new InvalidOptionError(option, 'expected options { timezone?, missed?, catchUpWindowMs? }');
  refuseUnknownOptions(option, options, Object.keys(RECURRING_OPTIONS));
  const missed = options.missed ?? RECURRING_DEFAULTS.missed;
  if (!MISSED_TICK_POLICIES.includes(missed)) {
    throw new InvalidOptionError(`${option}.missed`, `expected ${MISSED_TICK_POLICIES.map((p) => `'${p}'`).join(' or ')}, got ${JSON.stringify(missed)}`);
  }
  const catchUpWindowMs = options.catchUpWindowMs ?? RECURRING_DEFAULTS.catchUpWindowMs;
  if (typeof catchUpWindowMs !== 'number' || !Number.isInteger(catchUpWindowMs) || catchUpWindowMs < 1_000 || catchUpWindowMs > MAX_CATCH_UP_WINDOW_MS) {
    throw new InvalidOptionError(`${option}.catchUpWindowMs`, `expected whole milliseconds from 1000 to ${MAX_CATCH_UP_WINDOW_MS} (24 hours), got ${String(catchUpWindowMs)}`);
  }
  const schedule = new CronSchedule(option, cron, options.timezone ?? RECURRING_DEFAULTS.timezone);
  return { name, schedule, jobClass, args: [...args], missed, catchUpWindowMs };
}
