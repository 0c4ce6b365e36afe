import type { OutboundMessage } from '../kafka/outbound-message.ts';
import { createHeaders } from '../kafka/records.ts';

/**
 * A delay tier: a topic beside a job topic where every message waits about the same time. Because
 * the wait is the same for every message of a tier partition, due times follow append order, so a
 * tier consumer only ever waits for the head of its partition.
 */
export interface DelayTier {
  /** Suffix of the tier topic: `<topic>.delay.<name>`. */
  readonly name: string;
  /** The wait of one hop through this tier, in ms. */
  readonly ms: number;
}

/**
 * The delay tiers, shortest first. Each one divides the next, so a wait made of whole 100 ms steps
 * is spent exactly by whole hops, and the last hop ends on the scheduled time.
 */
export const DELAY_TIERS: readonly DelayTier[] = Object.freeze([
  { name: '100ms', ms: 100 },
  { name: '500ms', ms: 500 },
  { name: '1s', ms: 1_000 },
  { name: '5s', ms: 5_000 },
  { name: '30s', ms: 30_000 },
  { name: '2m', ms: 120_000 },
  { name: '10m', ms: 600_000 },
  { name: '1h', ms: 3_600_000 },
  { name: '6h', ms: 21_600_000 },
]);

const SHORTEST = DELAY_TIERS[0]!;
const TIER_SEPARATOR = '.delay.';

/** Headers a scheduled job carries while it waits (ISO 8601 times, read without decoding the value). */
export const ScheduleHeaders = {
  /** When the job is due (a copy of the envelope's `scheduled_at`). */
  scheduledAt: 'scheduled-at',
  /** When the current hop through a delay tier ends. Only on delay-tier messages. */
  delayUntil: 'delay-until',
} as const;

/** The topic of one delay tier of a job topic: `<topic>.delay.<tier>`. */
export function delayTopic(topic: string, tier: DelayTier): string {
  return `${topic}${TIER_SEPARATOR}${tier.name}`;
}

/** Every delay topic of a job topic, shortest tier first (the topics a worker creates and consumes). */
export function delayTopics(topic: string): string[] {
  return DELAY_TIERS.map((tier) => delayTopic(topic, tier));
}

/** The job topic and tier a delay topic belongs to, or undefined when `topic` is not one. */
export function parseDelayTopic(topic: string): { target: string; tier: DelayTier } | undefined {
  const at = topic.lastIndexOf(TIER_SEPARATOR);
  if (at <= 0) return undefined;
  const name = topic.slice(at + TIER_SEPARATOR.length);
  const tier = DELAY_TIERS.find((candidate) => candidate.name === name);
  return tier ? { target: topic.slice(0, at), tier } : undefined;
}

/** Where a scheduled job goes next: a delay tier until `until`, or its job topic (`until` undefined). */
export interface Hop {
  topic: string;
  until: number | undefined;
}

/**
 * The next hop of a job due at `scheduledAt` (ms) that has waited until `from` (ms): the time the
 * previous hop was meant to end, or now at enqueue. A job already due goes to `target`.
 *
 * The first hop spends the part of the wait below 100 ms in the shortest tier; from then on the
 * remaining wait is whole 100 ms steps and each hop takes the largest tier that fits, so the last
 * hop ends exactly at `scheduledAt`. A hop never ends after `scheduledAt`. Hops are planned from
 * the planned times, not from the clock, so jobs with the same remaining wait take the same path
 * and keep their order. A job that is late by whole 100 ms steps (a busy or restarted worker) is
 * planned from the last step it has passed: planned from its old time, it would end before the
 * messages written on time ahead of it in its tier and wait behind them for as long as it is late.
 */
export function nextHop(target: string, scheduledAt: number, from: number, now: number): Hop {
  if (scheduledAt <= now) return { topic: target, until: undefined };
  const passedSteps = Math.max(0, Math.floor((now - from) / SHORTEST.ms));
  return hopFrom(target, scheduledAt, from + passedSteps * SHORTEST.ms);
}

function hopFrom(target: string, scheduledAt: number, from: number): Hop {
  const remaining = scheduledAt - from;
  if (remaining <= 0) return { topic: target, until: undefined };
  const belowStep = remaining % SHORTEST.ms;
  if (belowStep > 0) return { topic: delayTopic(target, SHORTEST), until: from + belowStep };
  const tier = [...DELAY_TIERS].reverse().find((candidate) => candidate.ms <= remaining)!;
  return { topic: delayTopic(target, tier), until: from + tier.ms };
}

/**
 * Sends a job message on its way to `target`: to the hop `nextHop` chooses, with the schedule
 * headers set. Key, value and every other header are kept, so per-key partitioning holds in every tier.
 */
export function routeScheduled(
  message: { key: OutboundMessage['key']; value: OutboundMessage['value']; headers: Readonly<Record<string, string | undefined>> },
  target: string,
  scheduledAt: number,
  from: number,
  now: number,
): OutboundMessage {
  const hop = nextHop(target, scheduledAt, from, now);
  const headers = definedHeaders(message.headers);
  delete headers[ScheduleHeaders.delayUntil];
  headers[ScheduleHeaders.scheduledAt] = new Date(scheduledAt).toISOString();
  if (hop.until !== undefined) headers[ScheduleHeaders.delayUntil] = new Date(hop.until).toISOString();
  return { ...message, topic: hop.topic, headers };
}

/** A time header as ms since the epoch, or undefined when missing or not a time. */
export function readTimeHeader(headers: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

/** Headers to produce again: the consumed ones without the missing values. */
export function definedHeaders(headers: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const defined = createHeaders<string>();
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) defined[name] = value;
  return defined;
}
