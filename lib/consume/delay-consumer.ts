import { Consumer } from './consumer.ts';
import type { Message } from '../kafka/inbound-message.ts';
import { messageBytes, type OutboundMessage } from '../kafka/outbound-message.ts';
import { sleep } from './sleep.ts';
import { describeCoordinates, SchedulingError } from '../errors.ts';
import type { IdlePollSettings } from './idle-poll.ts';
import { definedHeaders, parseDelayTopic, readTimeHeader, routeScheduled, ScheduleHeaders, type DelayTier } from '../schedule/tiers.ts';

/**
 * A tier partition stops fetching while its head is due later than this, and fetches again this
 * long before: enough for a fetch to come back (kafkajs waits up to `maxWaitTimeInMs`, 100 ms by
 * default, before a resumed partition is fetched) so the next messages are at hand when due.
 */
const PREFETCH_LEAD_MS = 1_000;

/** An idle, caught-up tier partition is fetched once per this long (see {@link IdlePoll}). */
const IDLE_POLL_MS = 1_000;

/**
 * Tiers whose messages wait at least this long are polled when idle: a message written while its
 * partition is held is fetched within about {@link IDLE_POLL_MS} plus a fetch, long before it is
 * due. Shorter tiers stay in every fetch.
 */
const IDLE_POLL_MIN_TIER_MS = 5 * IDLE_POLL_MS;

/**
 * How a delay tier partition is polled while it is caught up and idle, or undefined for a tier too
 * short for it (or a topic that is no tier). The window after each poll lets a fetch request that
 * started before it end and the next one, which includes the partition, come back.
 */
export function delayTierIdlePoll(topic: string, maxWaitTimeInMs: number): IdlePollSettings | undefined {
  const tier = parseDelayTopic(topic)?.tier;
  if (!tier || tier.ms < IDLE_POLL_MIN_TIER_MS) return undefined;
  return { pollMs: IDLE_POLL_MS, windowMs: 2 * maxWaitTimeInMs + 100 };
}

/**
 * How much later than its append time plus the tier's wait a message may come due: room for the
 * clocks of the producer and the broker to differ. A later `delay-until` is not believed.
 */
const CLOCK_SKEW_ALLOWANCE_MS = 1_000;

/**
 * Consumes one delay tier partition (the consumer of routes of kind `delay`, see routing/delay-routes.ts). Messages of a tier partition come due in append order, so it
 * only ever waits for its head: while the head is not due the partition is paused (nothing more is
 * fetched; kafkajs keeps heartbeating) and the lane sleeps, abortable by revocation and shutdown.
 * When messages are due they are forwarded (produceSync) to their next tier or to their job topic,
 * with key, value and headers kept, and marked only after the broker acknowledged them: a crash in
 * between repeats a forward, never loses one, and a restart waits again for what is not yet due.
 */
export class DelayConsumer extends Consumer {
  async consume(messages: Message[]): Promise<void> {
    const tier = parseDelayTopic(this.topic);
    if (!tier) throw new SchedulingError(`${this.topic} is not a delay topic (expected <topic>.delay.<tier>)`);
    const dueTimes = messages.map((message) => this.#dueTime(message, tier.tier));
    try {
      let next = 0;
      while (next < messages.length && !this.shouldStop()) {
        const now = Date.now();
        if (dueTimes[next]! > now) {
          await this.#waitUntil(dueTimes[next]!);
          continue;
        }
        let end = next + 1;
        while (end < messages.length && dueTimes[end]! <= now) end += 1;
        const due = messages.slice(next, end);
        const dispatcher = this.context.dispatcher();
        const forwards = due.map((message, index) => ({ message, forward: forwardOf(message, tier.target, dueTimes[next + index]!, now) }));
        const fitting = forwards.filter(({ message, forward }) => {
          const bytes = messageBytes(forward);
          if (bytes <= dispatcher.options.maxMessageBytes) return true;
          this.#reportTooLarge(message, bytes, dispatcher.options.maxMessageBytes);
          return false;
        });
        if (fitting.length > 0) await dispatcher.produceSync(fitting.map(({ forward }) => forward));
        this.markAsConsumed(due[due.length - 1]!);
        next = end;
      }
    } finally {
      this.context.holdFetching(false);
    }
  }

  /**
   * When the message's hop ends: never after the job is due, and never later than its append time
   * plus the tier's wait (every message of a tier waits the same time, so a later `delay-until`
   * comes from a bad producer or clock, and believing it would hold up the partition behind it).
   * Without readable schedule headers, now.
   */
  #dueTime(message: Message, tier: DelayTier): number {
    const until = readTimeHeader(message.headers, ScheduleHeaders.delayUntil);
    const scheduledAt = readTimeHeader(message.headers, ScheduleHeaders.scheduledAt);
    if (until !== undefined && scheduledAt !== undefined) {
      const latest = message.timestamp + tier.ms + CLOCK_SKEW_ALLOWANCE_MS;
      if (Math.min(until, scheduledAt) <= latest) return Math.min(until, scheduledAt);
      const error = new SchedulingError(
        `${describeCoordinates(message)} has "${ScheduleHeaders.delayUntil}" ${new Date(until).toISOString()}, ` +
          `later than its append time plus the ${tier.name} tier's wait (${new Date(latest).toISOString()}); it is sent on at that time ` +
          'and its next hop is planned from there. The job still runs no earlier than its scheduled_at.',
      );
      this.context.events.emit('error', { error, topic: message.topic, partition: message.partition, offset: message.offset, kind: 'delay-headers' });
      return latest;
    }
    const error = new SchedulingError(
      `${describeCoordinates(message)} has no valid "${ScheduleHeaders.delayUntil}" and ` +
        `"${ScheduleHeaders.scheduledAt}" headers; it is sent to its job topic now, whose worker checks the envelope's scheduled_at.`,
    );
    this.context.events.emit('error', { error, topic: message.topic, partition: message.partition, offset: message.offset, kind: 'delay-headers' });
    return -Infinity;
  }

  /**
   * A tier record over the dispatcher's `maxMessageBytes` (only another producer can write one:
   * Partita's own are refused at enqueue) can never be forwarded; retrying would hold the tier
   * partition for good. It is left where it is, with an error event naming it.
   */
  #reportTooLarge(message: Message, bytes: number, limit: number): void {
    const error = new SchedulingError(
      `${describeCoordinates(message)} is ${bytes} bytes as forwarded, over the dispatcher's maxMessageBytes (${limit}); ` +
        'it cannot be sent on and is skipped (it stays readable at these coordinates while the tier retains it). ' +
        'Enqueue scheduled jobs through Partita, which refuses such a job at enqueue, or raise maxMessageBytes.',
    );
    this.context.events.emit('error', { error, topic: message.topic, partition: message.partition, offset: message.offset, kind: 'delay-forward-too-large' });
  }

  /** Sleeps until `dueAt`; the partition stays paused until shortly before. */
  async #waitUntil(dueAt: number): Promise<void> {
    const { stopSignal } = this.context;
    const paused = dueAt - Date.now() - PREFETCH_LEAD_MS;
    if (paused > 0) {
      this.context.holdFetching(true);
      await sleep(paused, stopSignal);
      this.context.holdFetching(false);
    }
    await sleep(dueAt - Date.now(), stopSignal);
  }
}

/**
 * The message sent on from a tier: same key, value and headers, to the next hop, planned from the
 * time this hop ended (`dueAt`).
 */
function forwardOf(message: Message, target: string, dueAt: number, now: number): OutboundMessage {
  const scheduledAt = readTimeHeader(message.headers, ScheduleHeaders.scheduledAt);
  const kept = { key: message.rawKey, value: message.value, headers: message.headers };
  if (scheduledAt !== undefined && Number.isFinite(dueAt)) return routeScheduled(kept, target, scheduledAt, dueAt, now);
  const headers = definedHeaders(message.headers);
  delete headers[ScheduleHeaders.delayUntil];
  return { ...kept, topic: target, headers };
}
