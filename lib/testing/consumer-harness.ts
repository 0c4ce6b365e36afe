import type { AttemptMemory } from '../consume/consumer.ts';
import { Consumer } from '../consume/consumer.ts';
import type { Message } from '../kafka/inbound-message.ts';
import { WorkerEmitter } from '../consume/worker-events.ts';
import type { OutboundMessage } from '../kafka/outbound-message.ts';
import { InvalidOptionError } from '../errors.ts';
import { RoutesBuilder } from '../routing/route.ts';
import { runTestLane, testMessage } from './lane.ts';
import { TestDispatcher } from './test-dispatcher.ts';
import type { OffsetAndMetadata } from '../kafka/records.ts';

/** A message to feed a consumer: only what the test cares about; the rest gets defaults. */
export interface FakeMessage {
  /** @defaultValue null */
  key?: string | Buffer | null;
  /** A string or Buffer is sent as is, an object as JSON, null is a tombstone. @defaultValue null */
  value?: string | Buffer | null | object;
  /** @defaultValue {} */
  headers?: Record<string, string>;
  /** Milliseconds since the epoch. @defaultValue now */
  timestamp?: number;
}

/** Where the harness's consumer runs. */
export interface ConsumerHarnessOptions {
  /** The topic the messages come from. @defaultValue 'test-topic' */
  topic?: string;
  /** @defaultValue 0 */
  partition?: number;
  /** Offset of the first message fed. @defaultValue 0 */
  firstOffset?: number;
  /** As the route's `manualOffsetManagement()`: no automatic mark of a batch's last message. @defaultValue false */
  manualOffsetManagement?: boolean;
  /** The metadata committed with the partition's offset when it was assigned. @defaultValue null */
  committedMetadata?: string | null;
  /**
   * Where `produceSync` / `produceAsync` of the consumer go. Pass the process's test dispatcher
   * (from `useTestDispatcher`) to see them beside the jobs the consumer enqueues with `performLater`.
   * @defaultValue a TestDispatcher of the harness's own
   */
  dispatcher?: TestDispatcher;
}

/**
 * Feeds a {@link Consumer} fake messages, one batch per `consume` call, the way a worker's lane runs
 * it (same context seam, same delivery scope: a mark waits for what the consumer produced), and
 * records its marks and the messages it produced. Offsets continue across calls; the consumer
 * instance is kept, as a worker keeps one per lane.
 *
 * ```ts
 * const harness = new ConsumerHarness(OrdersConsumer, { topic: 'orders' });
 * await harness.consume([{ key: 'o-1', value: { total: 12 } }]);
 * assert.deepEqual(harness.markedOffsets, [0]);
 * ```
 */
export class ConsumerHarness<C extends Consumer = Consumer> {
  /** The consumer under test. */
  readonly consumer: C;
  /** Where the consumer's messages go. */
  readonly dispatcher: TestDispatcher;
  /** Worker events the consumer emits through its context. */
  readonly events = new WorkerEmitter();
  /** Every mark, in order: the consumer's own and the automatic ones. */
  readonly marks: OffsetAndMetadata[] = [];
  readonly #options: Required<Omit<ConsumerHarnessOptions, 'dispatcher'>>;
  readonly #attempts = new Map<number, AttemptMemory>();
  readonly #firstMessage: number;
  #nextOffset: number;

  constructor(consumer: C | (new () => C), options: ConsumerHarnessOptions = {}) {
    const instance = typeof consumer === 'function' ? new consumer() : consumer;
    if (!(instance instanceof Consumer)) throw new InvalidOptionError('ConsumerHarness.consumer', 'expected a Consumer subclass or an instance of one');
    this.consumer = instance;
    this.dispatcher = options.dispatcher ?? new TestDispatcher();
    this.#firstMessage = this.dispatcher.messages().length;
    this.#options = {
      topic: options.topic ?? 'test-topic',
      partition: options.partition ?? 0,
      firstOffset: options.firstOffset ?? 0,
      manualOffsetManagement: options.manualOffsetManagement ?? false,
      committedMetadata: options.committedMetadata ?? null,
    };
    this.#nextOffset = this.#options.firstOffset;
  }

  /**
   * A harness for the consumer route of `topic` drawn by `draw`, the function given to
   * `app.routes(draw)`: the route's consumer class and its `manualOffsetManagement()` apply.
   * Job topics are tested with `useTestDispatcher` instead.
   */
  static forRoute(draw: (routes: RoutesBuilder) => void, topic: string, options: Omit<ConsumerHarnessOptions, 'topic' | 'manualOffsetManagement'> = {}): ConsumerHarness {
    const routes = new RoutesBuilder();
    draw(routes);
    const route = routes.routes.find((candidate) => candidate.topic === topic);
    if (!route) {
      const known = routes.routes.map((candidate) => candidate.topic).join(', ') || 'none';
      throw new InvalidOptionError('ConsumerHarness.forRoute.topic', `no route consumes "${topic}" (routed topics: ${known})`);
    }
    if (route.kind === 'jobs') {
      throw new InvalidOptionError('ConsumerHarness.forRoute.topic', `"${topic}" is a job topic; test its jobs with useTestDispatcher({ jobs }) and performEnqueuedJobs()`);
    }
    return new ConsumerHarness(route.consumer as new () => Consumer, { ...options, topic, manualOffsetManagement: route.manualOffsetManagement });
  }

  /** The marked offsets, in order. */
  get markedOffsets(): number[] {
    return this.marks.map((mark) => mark.offset);
  }

  /** The highest offset marked so far, or undefined before any mark. */
  get lastMarkedOffset(): number | undefined {
    return this.marks.length === 0 ? undefined : Math.max(...this.markedOffsets);
  }

  /** The messages the consumer produced (`produce*`, jobs it enqueued through this dispatcher), in order. */
  get produced(): OutboundMessage[] {
    return this.dispatcher.messages().slice(this.#firstMessage);
  }

  /**
   * Runs one batch. Resolves with the messages as the consumer saw them once everything it
   * produced was delivered and its marks applied; rejects with the consumer's error (nothing of the
   * batch is marked automatically then, as on a worker).
   */
  async consume(messages: readonly FakeMessage[]): Promise<Message[]> {
    if (messages.length === 0) throw new InvalidOptionError('ConsumerHarness.consume', 'give at least one message; a worker never runs an empty batch');
    const { topic, partition, committedMetadata } = this.#options;
    const batch = messages.map((message) =>
      testMessage({
        topic,
        partition,
        offset: this.#nextOffset++,
        key: message.key ?? null,
        value: encodeValue(message.value),
        headers: message.headers ?? {},
        timestamp: message.timestamp ?? Date.now(),
      }),
    );
    await runTestLane(this.consumer, batch, {
      topic,
      partition,
      committedMetadata,
      dispatcher: this.dispatcher,
      events: this.events,
      marks: this.marks,
      attempts: this.#attempts,
    });
    // As the partition processor does for a plain consumer whose lane returned.
    if (!this.#options.manualOffsetManagement) this.marks.push({ offset: batch[batch.length - 1]!.offset, metadata: null });
    return batch;
  }
}

function encodeValue(value: FakeMessage['value']): string | Buffer | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value);
}
