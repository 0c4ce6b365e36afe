// Invariant: a dead-letter copy is reported sent only once the broker acknowledged it; a dispatch that fails is reported and leaves the message to be retried.
import type { Dispatcher } from '../dispatch/dispatcher.ts';
import { describeCoordinates, MessageTooLargeError, toError } from '../errors.ts';
import { DeadLetterHeaders, deadLetterMaxBytes, deadLetterMessage, isTooLargeError, smallestDeadLetterCopy, type DeadLetterCopy } from './dead-letter.ts';
import type { Message } from '../kafka/inbound-message.ts';
import type { WorkerEmitter } from './worker-events.ts';

/** Where one partition's dead letters go. */
export interface DeadLetterDispatchSettings {
  topic: string;
  partition: number;
  /** The consumer group (written into dead-letter headers). */
  groupId: string;
  /** Partitions of the route's dead-letter topic. */
  deadLetterPartitions: number;
  /** The `max.message.bytes` of the route's dead-letter topic (what one record batch may take). */
  deadLetterMaxMessageBytes: number;
}

/** What a dead-letter dispatch needs from the worker around it. */
export interface DeadLetterDispatchPorts {
  dispatcher(): Dispatcher;
  /**
   * Transactional routes: runs `send` in the partition's transaction together with the mark of
   * `message`, so the copy and the mark commit together (the message is dead-lettered exactly once).
   * Absent: the copy is sent on its own.
   */
  withMark?(message: Message, send: () => Promise<void>): Promise<void>;
  events: WorkerEmitter;
}

/** A failing message's way out: dead-lettered to `topic`, or skipped (`topic: false`). */
export type DeadLetterVerdict = { action: 'dead-letter'; topic: string; attempts: number } | { action: 'skip'; attempts: number };

/**
 * Sends failing messages of one partition to its dead-letter topic, or reports them skipped. A
 * broker that refuses the copy for its size (a broker-wide limit below the topic's) gets the
 * smallest copy once: retrying the same one would block the partition for good. A reduced copy
 * is reported (`dead-letter-reduced`), a failed dispatch too (`dead-letter-dispatch`).
 */
export class DeadLetterDispatch {
  readonly #settings: DeadLetterDispatchSettings;
  readonly #ports: DeadLetterDispatchPorts;

  constructor(settings: DeadLetterDispatchSettings, ports: DeadLetterDispatchPorts) {
    this.#settings = settings;
    this.#ports = ports;
  }

  /** Dead-letters or skips `message`, which failed with `error`; false when the dispatch failed (the message stays). */
  async dispatch(message: Message, verdict: DeadLetterVerdict, error: Error): Promise<boolean> {
    const { topic, partition } = this.#settings;
    const at = { topic, partition, offset: message.offset };
    const { attempts } = verdict;
    try {
      if (verdict.action === 'skip') {
        this.#ports.events.emit('message.skipped', { ...at, attempts, error });
        return true;
      }
      const sent = await this.#send(message, verdict.topic, attempts, error);
      if (sent.dropped.length > 0) {
        const where = describeCoordinates({ topic, partition, offset: message.offset });
        const reduced = new MessageTooLargeError(
          `The dead-letter copy of ${where} would be ${sent.fullBytes} bytes, over what ${verdict.topic} accepts ` +
            `(${sent.maxBytes} bytes: the dispatcher's maxMessageBytes and the topic's max.message.bytes); ` +
            `it was sent without its ${sent.dropped.join(', ')} (header ${DeadLetterHeaders.dropped}). The original stays at ` +
            `${where} while the topic retains it.`,
        );
        this.#ports.events.emit('error', { error: reduced, ...at, kind: 'dead-letter-reduced' });
      }
      this.#ports.events.emit('message.dead-lettered', { ...at, attempts, error, deadLetterTopic: verdict.topic, dropped: sent.dropped });
      return true;
    } catch (cause) {
      this.#ports.events.emit('error', { error: toError(cause), ...at, kind: 'dead-letter-dispatch' });
      return false;
    }
  }

  async #send(message: Message, deadLetterTopic: string, attempts: number, error: Error): Promise<DeadLetterCopy & { maxBytes: number }> {
    const dispatcher = this.#ports.dispatcher();
    const target = {
      topic: deadLetterTopic,
      partitions: this.#settings.deadLetterPartitions,
      maxBytes: deadLetterMaxBytes(dispatcher.options.maxMessageBytes, this.#settings.deadLetterMaxMessageBytes),
    };
    const context = { groupId: this.#settings.groupId, attempts, error };
    const send = async (copy: DeadLetterCopy) => {
      const produce = async () => {
        await dispatcher.produceSync([copy.message]);
      };
      await (this.#ports.withMark ? this.#ports.withMark(message, produce) : produce());
      return { ...copy, maxBytes: target.maxBytes };
    };
    const first = deadLetterMessage(message, target, context);
    return send(first).catch((cause: unknown) => {
      if (!isTooLargeError(cause) || first.dropped.length === 3) throw cause;
      return send(smallestDeadLetterCopy(message, target, context));
    });
  }
}
