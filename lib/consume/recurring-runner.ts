import { hostname } from 'node:os';
import type { Delivery, OutboundMessage } from '../kafka/outbound-message.ts';
import { runInTransaction } from '../dispatch/transaction-context.ts';
import { ConsumerRestartError, TransactionError, toError } from '../errors.ts';
import { jobNameOf, jobOptionsOf } from '../job/job.ts';
import { ensureTopics, withAdmin } from '../kafka/admin.ts';
import type { KafkaClient as Kafka } from '../kafka/kafkajs.ts';
import { PartitionOwnership } from '../kafka/partition-owner.ts';
import { KafkaProducerSender, type KafkaTransaction } from '../kafka/producer.ts';
import {
  encodeRecurringState,
  readRecurringStates,
  RECURRING_STATE_TOPIC_CONFIG,
  recurringOwnerGroup,
  recurringStateTombstone,
  recurringStateTopic,
  type RecurringState,
} from '../kafka/recurring-state.ts';
import type { RecurringDefinition } from '../routing/recurring.ts';
import { planTicks } from '../schedule/cron.ts';
import { backoffDelay, RESTART_BACKOFF } from './backoff.ts';
import { sleep } from './sleep.ts';
import type { WorkerEmitter } from './worker-events.ts';

/** Most ticks one transaction enqueues (a long catch-up is split into several). */
const MAX_TICKS_PER_ROUND = 100;

/** The ticker plans again at least this often, so that a step of the wall clock is noticed. */
const LONGEST_SLEEP_MS = 60_000;

/** Settings of a {@link RecurringRunner}. */
export interface RecurringRunnerSettings {
  /** The app's consumer group: names the state topic and the ticker's own group. */
  groupId: string;
  /** Prefix of the ticker's transactional id (`<prefix><group>-<state topic>-0`). */
  transactionalIdPrefix: string;
  /** Session timeout of the ticker's group, in ms: how soon a crashed owner is replaced. */
  sessionTimeout: number;
  /** Heartbeat interval of the ticker's group, in ms. */
  heartbeatInterval: number;
  /** Rebalance timeout of the ticker's group, in ms. */
  rebalanceTimeout: number;
}

/** One tick's job, planned for a round. */
interface PlannedTick {
  definition: RecurringDefinition;
  tick: number;
}

/**
 * Runs an app's recurring jobs: exactly one process at a time owns the ticker, and each tick's job
 * is enqueued once across every process, restart and takeover, with nothing kept outside Kafka.
 *
 * - Ownership: every worker process of the app joins the consumer group `<group>.recurring` on the
 *   one-partition state topic `partita.recurring.<group>`; the member given the partition runs the ticker.
 * - Taking over: its transactional producer (one id per app) begins and aborts a transaction,
 *   which fences the previous owner (its producer can no longer commit) and ends the transaction it
 *   left open; then the state topic is read to its end, read_committed, for each schedule's last tick.
 * - Each round is one transaction: the jobs of the due ticks (normal envelopes, to their class's
 *   topic, through enqueue callbacks) and each schedule's new state record. Job consumers read
 *   committed, so the job of a tick whose transaction aborted never runs, and a new owner that
 *   reads the state sees exactly the ticks whose jobs were committed.
 * - Late and missed ticks are planned by {@link planTicks} (catch-up window, missed-tick policy).
 */
export class RecurringRunner {
  readonly #kafka: Kafka;
  readonly #definitions: readonly RecurringDefinition[];
  readonly #events: WorkerEmitter;
  readonly #settings: RecurringRunnerSettings;
  readonly #stateTopic: string;
  readonly #owner = `${hostname()}/${process.pid}`;
  #ownership: PartitionOwnership | undefined;
  #session: { abort: AbortController; done: Promise<void> } | undefined;
  #restartAttempts = 0;
  /** The start under way (state topic, first join); stop() waits for it. */
  #starting: Promise<void> = Promise.resolve();
  readonly #stopAbort = new AbortController();
  #stopped: Promise<void> | undefined;

  constructor(kafka: Kafka, definitions: readonly RecurringDefinition[], events: WorkerEmitter, settings: RecurringRunnerSettings) {
    this.#kafka = kafka;
    this.#definitions = definitions;
    this.#events = events;
    this.#settings = settings;
    this.#stateTopic = recurringStateTopic(settings.groupId);
  }

  /** Creates the state topic when missing and joins the ticker's group; the ticker runs once this process is given it. */
  start(): Promise<void> {
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    await withAdmin(this.#kafka, (admin) => ensureTopics(admin, [{ topic: this.#stateTopic, ...RECURRING_STATE_TOPIC_CONFIG }]));
    if (!this.#stopAbort.signal.aborted) await this.#join();
  }

  /** Stops ticking (a round under way commits or aborts first) and leaves the group. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopAbort.abort();
    await this.#starting.catch(() => undefined);
    this.#release();
    await this.#session?.done;
    await this.#ownership?.stop().catch(() => undefined);
  }

  async #join(): Promise<void> {
    const { sessionTimeout, heartbeatInterval, rebalanceTimeout } = this.#settings;
    const ownership = new PartitionOwnership(this.#kafka, {
      groupId: recurringOwnerGroup(this.#settings.groupId),
      topic: this.#stateTopic,
      partition: 0,
      sessionTimeout,
      heartbeatInterval,
      rebalanceTimeout,
    });
    this.#ownership = ownership;
    await ownership.start({
      onOwned: () => this.#own(),
      onLost: () => this.#release(),
      onCrash: (error, willRestart) => this.#crashed(error, willRestart),
    });
  }

  /** kafkajs gave up on the ticker's consumer: a new one joins after a backoff. */
  #crashed(error: Error, willRestart: boolean): void {
    if (willRestart || this.#stopAbort.signal.aborted) return;
    this.#restartAttempts += 1;
    const retryInMs = backoffDelay(RESTART_BACKOFF, this.#restartAttempts);
    this.#events.emit('error', {
      error: new ConsumerRestartError(`The recurring-job ticker's consumer of group "${recurringOwnerGroup(this.#settings.groupId)}" stopped (${error.message}); joining again in ${retryInMs} ms.`, { cause: error }),
      kind: 'recurring-consumer',
    });
    void sleep(retryInMs, this.#stopAbort.signal).then(async () => {
      if (this.#stopAbort.signal.aborted) return;
      await this.#ownership?.stop().catch(() => undefined);
      await this.#join().catch((cause: unknown) => this.#crashed(toError(cause), false));
    });
  }

  /** Starts a ticker session (after the previous one, if any, has ended). */
  #own(): void {
    if (this.#stopAbort.signal.aborted) return;
    this.#release();
    this.#restartAttempts = 0;
    const abort = new AbortController();
    const previous = this.#session?.done ?? Promise.resolve();
    this.#session = { abort, done: previous.then(() => this.#runOwned(abort.signal)) };
  }

  #release(): void {
    const session = this.#session;
    if (!session || session.abort.signal.aborted) return;
    session.abort.abort();
    this.#events.emit('recurring.released', { groupId: this.#settings.groupId });
  }

  /** Runs the ticker until `signal` aborts; a failed session is started again (fencing and reading anew) after a backoff. */
  async #runOwned(signal: AbortSignal): Promise<void> {
    for (let attempt = 1; !signal.aborted; attempt += 1) {
      try {
        await this.#tickUntil(signal);
        return;
      } catch (cause) {
        if (signal.aborted) return;
        const retryInMs = backoffDelay(RESTART_BACKOFF, attempt);
        const error = new TransactionError(`The recurring-job ticker of group "${this.#settings.groupId}" failed (${toError(cause).message}); it takes over again in ${retryInMs} ms.`, { cause });
        this.#events.emit('error', { error, topic: this.#stateTopic, partition: 0, kind: 'recurring' });
        await sleep(retryInMs, signal);
      }
    }
  }

  /**
   * One ticker session. The fence comes before the read: once the previous owner's producer is
   * fenced and its open transaction aborted, the state topic's last stable offset covers
   * everything it could ever commit, so the state read is complete.
   */
  async #tickUntil(signal: AbortSignal): Promise<void> {
    const { groupId, transactionalIdPrefix } = this.#settings;
    const sender = new KafkaProducerSender(this.#kafka, { transactionalId: `${transactionalIdPrefix}${groupId}-${this.#stateTopic}-0` });
    await sender.connect();
    try {
      const fence = await sender.beginTransaction();
      await fence.abort();
      const states = await readRecurringStates(this.#kafka, this.#stateTopic);
      if (signal.aborted) return;
      this.#events.emit('recurring.owned', { groupId, schedules: this.#definitions.map((d) => d.name) });
      while (!signal.aborted) {
        const more = await this.#round(sender, states, signal);
        if (more || signal.aborted) continue;
        await sleep(this.#msToNextTick(states), signal);
      }
    } finally {
      await sender.disconnect().catch(() => undefined);
    }
  }

  /** How long until the next tick of any schedule. */
  #msToNextTick(states: ReadonlyMap<string, RecurringState>): number {
    let next = Date.now() + LONGEST_SLEEP_MS;
    for (const definition of this.#definitions) {
      const state = states.get(definition.name);
      const tick = state ? definition.schedule.next(Date.parse(state.lastTick)) : undefined;
      if (tick !== undefined) next = Math.min(next, tick);
    }
    return next - Date.now();
  }

  /**
   * One transaction: the due ticks' jobs and the changed state records (new schedules start at
   * now; schedules no longer declared are removed). Returns true when more ticks are due at once.
   */
  async #round(sender: KafkaProducerSender, states: Map<string, RecurringState>, signal: AbortSignal): Promise<boolean> {
    const now = Date.now();
    const planned: PlannedTick[] = [];
    const updates = new Map<string, RecurringState>();
    const skips: { schedule: string; first: number; last: number; policy: string }[] = [];
    let more = false;
    for (const definition of this.#definitions) {
      const state = states.get(definition.name);
      if (!state) {
        updates.set(definition.name, this.#stateOf(definition, now, null, now));
        continue;
      }
      const lastTick = Date.parse(state.lastTick);
      const plan = planTicks(definition.schedule, { lastTick, now, catchUpWindowMs: definition.catchUpWindowMs, missed: definition.missed, maxTicks: MAX_TICKS_PER_ROUND });
      if (plan.enqueue.length === MAX_TICKS_PER_ROUND) more = true;
      if (plan.skipped) skips.push({ schedule: definition.name, ...plan.skipped, policy: definition.missed });
      for (const tick of plan.enqueue) planned.push({ definition, tick });
      const lastEnqueued = plan.enqueue.length > 0 ? new Date(plan.enqueue[plan.enqueue.length - 1]!).toISOString() : state.lastEnqueuedTick;
      const next = this.#stateOf(definition, plan.lastTick, lastEnqueued, now);
      if (plan.lastTick !== lastTick || describesOtherwise(state, next)) updates.set(definition.name, next);
    }
    const declared = new Set(this.#definitions.map((d) => d.name));
    const removed = [...states.keys()].filter((name) => !declared.has(name));
    if (updates.size === 0 && removed.length === 0) return more;

    const transaction = await sender.beginTransaction();
    const enqueued: { planned: PlannedTick; jobId: string; jobClass: string; topic: string }[] = [];
    try {
      const send = serializedSends(transaction);
      await runInTransaction({ send }, async () => {
        for (const tick of planned) {
          const job = new tick.definition.jobClass(...tick.definition.args);
          job.scheduledAt = new Date(tick.tick);
          const result = await job.enqueue();
          enqueued.push({ planned: tick, jobId: result.jobId, jobClass: result.jobClass, topic: result.topic });
        }
      });
      await send([
        ...[...updates.values()].map((state) => encodeRecurringState(this.#stateTopic, state)),
        ...removed.map((name) => recurringStateTombstone(this.#stateTopic, name)),
      ]);
      if (signal.aborted) throw new TransactionError('the ticker was taken away before the commit; the round was aborted');
      if (transaction.outcomeUnknown) throw new TransactionError('a send of the round failed with an unknown outcome; the round was not committed');
      await transaction.commit();
    } catch (error) {
      if (!transaction.outcomeUnknown) await transaction.abort().catch(() => undefined);
      if (signal.aborted) return false;
      throw error;
    }
    for (const [name, state] of updates) states.set(name, state);
    for (const name of removed) states.delete(name);
    for (const skip of skips) {
      this.#events.emit('recurring.skipped', { schedule: skip.schedule, first: new Date(skip.first), last: new Date(skip.last), policy: skip.policy });
    }
    const committedAt = Date.now();
    for (const { planned: tick, jobId, jobClass, topic } of enqueued) {
      this.#events.emit('recurring.enqueued', { schedule: tick.definition.name, tick: new Date(tick.tick), jobId, jobClass, topic, lateMs: committedAt - tick.tick });
    }
    return more;
  }

  #stateOf(definition: RecurringDefinition, lastTick: number, lastEnqueuedTick: string | null, now: number): RecurringState {
    return {
      schedule: definition.name,
      cron: definition.schedule.expression,
      timezone: definition.schedule.timezone,
      jobClass: jobNameOf(definition.jobClass),
      topic: jobOptionsOf(definition.jobClass).topic,
      missed: definition.missed,
      catchUpWindowMs: definition.catchUpWindowMs,
      lastTick: new Date(lastTick).toISOString(),
      lastEnqueuedTick,
      updatedAt: new Date(now).toISOString(),
      owner: this.#owner,
    };
  }
}

/** True when the declaration changed what the record says (cron, zone, job, topic, policy). */
function describesOtherwise(stored: RecurringState, next: RecurringState): boolean {
  const fields = ['cron', 'timezone', 'jobClass', 'topic', 'missed', 'catchUpWindowMs'] as const;
  return fields.some((field) => stored[field] !== next[field]);
}

/** Sends into `transaction` one request at a time (kafkajs needs a transaction's sends serialized). */
function serializedSends(transaction: KafkaTransaction): (messages: readonly OutboundMessage[]) => Promise<Delivery[]> {
  let sending: Promise<unknown> = Promise.resolve();
  return (messages) => {
    const sent = sending.then(() => transaction.send(messages));
    sending = sent.catch(() => undefined);
    return sent;
  };
}
