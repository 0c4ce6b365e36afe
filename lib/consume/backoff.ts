import type { BackoffSettings } from '../routing/route.ts';

export type { BackoffSettings };

/**
 * Waits before the engine tries again to start what failed to start (a new consumer after kafkajs
 * gave up on one, a worker after a pattern pick-up): 1 s doubling to 30 s, whatever the routes'
 * own backoff settings.
 */
export const RESTART_BACKOFF: BackoffSettings = { timeout: 1000, maxTimeout: 30_000, exponentialBackoff: true };

/** The wait before retry number `attempt` (1 for the first retry). */
export function backoffDelay(settings: BackoffSettings, attempt: number): number {
  if (!settings.exponentialBackoff) return Math.min(settings.timeout, settings.maxTimeout);
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(settings.timeout * 2 ** exponent, settings.maxTimeout);
}
