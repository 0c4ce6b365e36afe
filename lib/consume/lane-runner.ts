// Invariant: every lane that starts runs on its own lane's consumer and is told once as started and once as finished; no lane starts once the partition stops.
import type { Dispatcher } from '../dispatch/dispatcher.ts';
import type { TransactionHandle } from '../job/ports.ts';
import { PartitionerError, toError } from '../errors.ts';
import type { RouteDefinition } from '../routing/route.ts';
import { attachContext, consumeLane, type AttemptMemory, type Consumer } from './consumer.ts';
import { defaultReducer, splitIntoLanes } from './lanes.ts';
import type { Message } from '../kafka/inbound-message.ts';
import type { WorkerEmitter } from './worker-events.ts';
import type { OffsetAndMetadata } from '../kafka/records.ts';

/** The lanes of one run of a batch: `lanes[i]` holds the messages of lane `laneIds[i]`, in offset order. */
export interface LanePlan {
  laneIds: number[];
  lanes: Message[][];
}

/** How one lane's run ended: it returned, it threw, or it never started (revoked or stopping). */
export type LaneOutcome = { ran: true; error: Error | undefined } | { ran: false };

/** What lanes need from the partition they run on. */
export interface LanePorts {
  topic: string;
  partition: number;
  route: RouteDefinition;
  /** A new consumer of the route (one per lane, kept across batches). */
  createConsumer(): Consumer;
  events: WorkerEmitter;
  /** Aborts when the partition is revoked (the consumers' `signal`). */
  signal: AbortSignal;
  /** Aborts when the partition is revoked or the worker stops. */
  stopSignal: AbortSignal;
  /** True once the partition was revoked or the worker stops: no lane starts then. */
  stopped(): boolean;
  /** True once the partition was revoked. */
  revoked(): boolean;
  /** The offset metadata committed for the partition when it was assigned. */
  committedMetadata(): string | null;
  /** Marks a message done (a `markAsConsumed` of a consumer); false when nothing was marked. */
  mark(message: Message, metadata: string | null): boolean;
  /** Holds (true) or lets go (false) fetching of the partition on behalf of `lane`. */
  holdFetching(lane: number, hold: boolean): void;
  /** What earlier attempts of a message of the batch left behind. */
  attemptsOf(offset: number): AttemptMemory;
  /** Runs a transaction block; with `offsetsInTransaction` its marks commit inside it. */
  transaction<T>(body: (tx: TransactionHandle) => Promise<T>, offsetsInTransaction: boolean): Promise<T>;
  dispatcher(): Dispatcher;
}

/**
 * Runs a partition's lanes: one lane's run at a time per lane (what the lane scheduler hands out),
 * or a whole batch split into lanes run concurrently (batch-at-a-time), each to its end (a failing
 * lane does not stop its siblings), on the consumer of its lane with the lane's context attached.
 */
export class LaneRunner {
  readonly #ports: LanePorts;
  readonly #consumers = new Map<number, Consumer>();
  #running = 0;

  constructor(ports: LanePorts) {
    this.#ports = ports;
  }

  /** Lanes running now. */
  get running(): number {
    return this.#running;
  }

  /**
   * The lanes of `batch`: one without virtual partitions. A partitioner that throws is reported
   * (`partitioner`) and the batch runs as one lane.
   */
  plan(batch: Message[]): LanePlan {
    const { topic, partition, route } = this.#ports;
    const settings = route.virtualPartitions;
    if (!settings) return { laneIds: [0], lanes: [batch] };
    const split = splitIntoLanes(batch, {
      maxPartitions: settings.maxPartitions,
      distribution: settings.distribution,
      reducer: settings.reducer ?? defaultReducer,
      keyOf: (message) => settings.partitioner(message.partitionerInput()),
    });
    if (split.error !== undefined) {
      const reason = toError(split.error).message;
      const error = new PartitionerError(
        `The virtual-partition partitioner of route "${topic}" threw on ${topic}/${partition} ` +
          `(batch ${batch[0]!.offset}..${batch[batch.length - 1]!.offset}): ${reason}. The batch runs as one lane.`,
        { cause: split.error },
      );
      this.#ports.events.emit('error', { error, topic, partition, offset: batch[0]!.offset, kind: 'partitioner' });
    }
    return split;
  }

  /**
   * The key that orders `message` among the partition's messages: the partitioner's, as a string;
   * undefined without virtual partitions or for a null or undefined key. Throws what the
   * partitioner throws.
   */
  keyOf(message: Message): string | undefined {
    const settings = this.#ports.route.virtualPartitions;
    if (!settings) return undefined;
    const key = settings.partitioner(message.partitionerInput());
    return key === undefined || key === null ? undefined : String(key);
  }

  /** Runs every lane of `plan` to its end; one outcome per lane, in plan order. */
  run(plan: LanePlan, collapsed: boolean): Promise<LaneOutcome[]> {
    return Promise.all(plan.lanes.map((messages, index) => this.#runLane(plan.laneIds[index]!, messages, collapsed)));
  }

  /** Runs one lane's run (not collapsed) to its end. */
  runOne(lane: number, messages: Message[]): Promise<LaneOutcome> {
    return this.#runLane(lane, messages, false);
  }

  /**
   * Plain consumers without manual offset management: the last message of each lane that ran and
   * returned. A lane that threw or never started (the processor was stopping) is not marked.
   */
  automaticMarks(plan: LanePlan, outcomes: readonly LaneOutcome[]): OffsetAndMetadata[] {
    const { route } = this.#ports;
    if (route.kind !== 'consumer' || route.manualOffsetManagement) return [];
    return plan.lanes
      .filter((_, index) => {
        const outcome = outcomes[index];
        return outcome?.ran === true && outcome.error === undefined;
      })
      .map((lane) => ({ offset: lane[lane.length - 1]!.offset, metadata: null }));
  }

  async #runLane(lane: number, messages: Message[], collapsed: boolean): Promise<LaneOutcome> {
    const ports = this.#ports;
    if (ports.stopped()) return { ran: false };
    const ref = { topic: ports.topic, partition: ports.partition, lane, size: messages.length };
    const consumer = this.#consumerFor(lane);
    const offsetsInTransaction = !ports.route.virtualPartitions || collapsed;
    attachContext(consumer, {
      topic: ports.topic,
      partition: ports.partition,
      lane,
      collapsed,
      signal: ports.signal,
      committedMetadata: ports.committedMetadata(),
      events: ports.events,
      mark: (message, metadata) => ports.mark(message, metadata),
      shouldStop: () => ports.stopped(),
      stopSignal: ports.stopSignal,
      holdFetching: (hold) => ports.holdFetching(lane, hold),
      attemptsOf: (offset) => ports.attemptsOf(offset),
      transaction: (body) => ports.transaction(body, offsetsInTransaction),
      dispatcher: () => ports.dispatcher(),
    });
    this.#running += 1;
    ports.events.emit('lane.started', { ...ref, collapsed, at: Date.now() });
    let error: Error | undefined;
    try {
      await consumeLane(consumer, messages);
    } catch (cause) {
      error = toError(cause);
    } finally {
      this.#running -= 1;
    }
    ports.events.emit('lane.finished', { ...ref, at: Date.now(), ...(error ? { error, revoked: ports.revoked() } : {}) });
    return { ran: true, error };
  }

  #consumerFor(lane: number): Consumer {
    let consumer = this.#consumers.get(lane);
    if (!consumer) {
      consumer = this.#ports.createConsumer();
      this.#consumers.set(lane, consumer);
    }
    return consumer;
  }
}

/** The errors of the lanes that threw, in plan order. */
export function laneErrors(outcomes: readonly LaneOutcome[]): Error[] {
  return outcomes.flatMap((outcome) => (outcome.ran && outcome.error ? [outcome.error] : []));
}
