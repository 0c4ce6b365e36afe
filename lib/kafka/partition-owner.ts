import type { Consumer, KafkaClient as Kafka } from './kafkajs.ts';
import { toError } from '../errors.ts';

/** Group settings of a {@link PartitionOwnership}. */
export interface OwnershipSettings {
  /** The consumer group whose members compete for the partition. */
  groupId: string;
  /** The topic whose partition is owned. */
  topic: string;
  /** The partition that is owned. */
  partition: number;
  /** How long a silent member keeps the partition, in ms: how soon a crashed owner is replaced. */
  sessionTimeout: number;
  /** How often members heartbeat, in ms. */
  heartbeatInterval: number;
  /** How long members get to rejoin during a rebalance, in ms. */
  rebalanceTimeout: number;
}

/** What an owner hears. Handlers must not throw. */
export interface OwnershipHandlers {
  /** This member was given the partition (also again after a rebalance that kept it here). */
  onOwned(): void;
  /** The partition is no longer this member's for sure (a rebalance began, the consumer crashed or stopped). */
  onLost(): void;
  /** kafkajs's consumer crashed; with `willRestart` false it gave up and the owner must be started anew. */
  onCrash(error: Error, willRestart: boolean): void;
}

/**
 * One member of a consumer group in which the members compete for one partition: the group gives
 * it to exactly one member at a time. Nothing is consumed or committed; the partition is the token.
 * Being told `onOwned` is not proof against a member that has not yet heard that it lost the
 * partition: whoever acts on ownership must also fence (a transactional id per partition does).
 */
export class PartitionOwnership {
  readonly #consumer: Consumer;
  readonly #settings: OwnershipSettings;

  constructor(kafka: Kafka, settings: OwnershipSettings) {
    this.#settings = settings;
    this.#consumer = kafka.consumer({
      groupId: settings.groupId,
      sessionTimeout: settings.sessionTimeout,
      heartbeatInterval: settings.heartbeatInterval,
      rebalanceTimeout: settings.rebalanceTimeout,
      maxWaitTimeInMs: 1_000,
      allowAutoTopicCreation: false,
    });
  }

  /** Connects, joins the group and keeps heartbeating. */
  async start(handlers: OwnershipHandlers): Promise<void> {
    const { topic, partition } = this.#settings;
    const { events } = this.#consumer;
    const guarded = (body: () => void) => {
      try {
        body();
      } catch (error) {
        process.stderr.write(`partita: internal error in a partition owner's handler: ${toError(error).message}\n`);
      }
    };
    this.#consumer.on(events.GROUP_JOIN, ({ payload }) => {
      const owned = (payload.memberAssignment[topic] ?? []).includes(partition);
      guarded(() => (owned ? handlers.onOwned() : handlers.onLost()));
    });
    this.#consumer.on(events.REBALANCING, () => guarded(() => handlers.onLost()));
    this.#consumer.on(events.STOP, () => guarded(() => handlers.onLost()));
    this.#consumer.on(events.CRASH, ({ payload }) => {
      guarded(() => handlers.onLost());
      guarded(() => handlers.onCrash(payload.error, payload.restart));
    });
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [topic], fromBeginning: false });
    await this.#consumer.run({ autoCommit: false, eachBatch: async () => {} });
  }

  /** Leaves the group (the partition goes to another member at once) and disconnects. */
  stop(): Promise<void> {
    return this.#consumer.disconnect();
  }
}
