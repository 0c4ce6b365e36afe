import { createKafka, type KafkaConnection } from '../kafka/client.ts';
import { withAdmin } from '../kafka/admin.ts';
import { ConfigResourceTypes, type Admin, type KafkaClient } from '../kafka/kafkajs.ts';
import { PartitionReader } from '../kafka/partition-reader.ts';
import { defaultLogger } from '../logging/logger.ts';
import { delayTopics, parseDelayTopic, ScheduleHeaders } from '../schedule/tiers.ts';

/** Kafka's own bookkeeping topics, left out of the topic list. */
const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);

/** One partition of a topic: its leader and replicas, and the offsets that bound its records. */
export interface PartitionOverview {
  /** Partition number. */
  partition: number;
  /** Broker id of the leader (-1 when the partition has none). */
  leader: number;
  /** Broker ids holding a copy. */
  replicas: number[];
  /** Broker ids in sync with the leader. */
  inSync: number[];
  /** The first offset still on the broker. */
  low: number;
  /** The offset the next record gets (the end offset). */
  high: number;
  /** `high - low`: the records kept (transaction markers count, they take offsets). */
  records: number;
}

/** A topic: partitions with their offsets, and the retention settings that bound its size. */
export interface TopicOverview {
  /** Topic name. */
  topic: string;
  /** Every partition, by number. */
  partitions: PartitionOverview[];
  /** Records kept over every partition. */
  records: number;
  /** `retention.ms` (-1: kept for ever), when the broker answered it. */
  retentionMs: number | undefined;
  /** `retention.bytes` per partition (-1: no bound), when the broker answered it. */
  retentionBytes: number | undefined;
  /** `cleanup.policy`: `delete`, `compact`, or both. */
  cleanupPolicy: string | undefined;
}

/** A consumer group's progress on one partition. */
export interface PartitionLag {
  /** Partition number. */
  partition: number;
  /** The committed offset: the next record the group will read (-1: nothing committed). */
  committed: number;
  /** The partition's end offset. */
  end: number;
  /** Records the group has not committed yet: `end - committed` (`end - low` with no commit). */
  lag: number;
  /** The metadata committed with the offset (Partita keeps its done-map there). */
  metadata: string | null;
}

/** A consumer group's progress on one topic. */
export interface TopicLag {
  /** Topic name. */
  topic: string;
  /** True for a delay tier (`<topic>.delay.<tier>`): its records wait there by design, they are not behind. */
  delayTier: boolean;
  /** Every partition the group committed on, by number. */
  partitions: PartitionLag[];
  /** The lag over every partition. */
  lag: number;
}

/** A consumer group: its state, its members and its lag per topic and partition. */
export interface GroupOverview {
  /** Group id. */
  groupId: string;
  /** The coordinator's state: `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Empty`, `Dead`. */
  state: string;
  /** Members now in the group (client id and host of each). */
  members: {
    /** The member's client id. */
    clientId: string;
    /** The host it connects from. */
    host: string;
  }[];
  /** The topics the group committed offsets on. */
  topics: TopicLag[];
  /** The lag over every topic but the delay tiers. */
  lag: number;
  /** Scheduled jobs waiting in the delay tiers the group consumes (their lag). */
  scheduled: number;
}

/** The jobs waiting in one delay tier of one job topic. */
export interface DelayTierOverview {
  /** The job topic the tier feeds. */
  jobTopic: string;
  /** The tier's name (`100ms` ... `6h`). */
  tier: string;
  /** The tier's wait per hop, in ms. */
  tierMs: number;
  /** The tier's own topic (`<jobTopic>.delay.<tier>`). */
  delayTopic: string;
  /** Jobs written to the tier and not yet moved on by the group consuming it. */
  waiting: number;
  /** Per partition: the offset of the next job to move on and the end offset. */
  partitions: {
    /** The tier topic's partition. */
    partition: number;
    /** The next offset its delay consumer forwards (the committed one, else the earliest). */
    next: number;
    /** The partition's end offset. */
    end: number;
  }[];
  /**
   * When the next job leaves the tier: the earliest hop end (`delay-until`) of the jobs at the
   * head of its partitions. Undefined when none waits.
   */
  nextHopAt: Date | undefined;
  /** The earliest due time (`scheduled-at`) of the jobs at the head of its partitions. */
  nextDueAt: Date | undefined;
}

/**
 * Reads what operators look at from Kafka's admin API: topics (partitions, offsets, retention),
 * consumer groups (lag per topic and partition against the end offsets, committed metadata) and
 * the delay tiers (jobs waiting per tier). Every call asks the brokers afresh; nothing is cached.
 */
export class ClusterReader {
  readonly #kafka: KafkaClient;
  readonly #reader: PartitionReader;

  /** @param connection how to reach the cluster (see {@link KafkaConnection}) */
  constructor(connection: KafkaConnection) {
    this.#kafka = createKafka({ clientId: 'partita-admin', logLevel: 'nothing', ...connection }, 'ClusterReader.kafka', defaultLogger());
    this.#reader = new PartitionReader(this.#kafka);
  }

  /** Closes the connections the delay-tier heads are read with. */
  close(): Promise<void> {
    return this.#reader.close();
  }

  /** The names of every topic but Kafka's internal ones, sorted (one metadata request). */
  topicNames(): Promise<string[]> {
    return withAdmin(this.#kafka, async (admin) => (await admin.listTopics()).filter((name) => !INTERNAL_TOPICS.has(name)).sort());
  }

  /**
   * Every topic but Kafka's internal ones, by name, with partitions, offsets and retention; with
   * `only`, those of these names that exist.
   */
  topics(only?: readonly string[]): Promise<TopicOverview[]> {
    return withAdmin(this.#kafka, async (admin) => {
      const names = (await admin.listTopics()).filter((name) => !INTERNAL_TOPICS.has(name) && (only === undefined || only.includes(name))).sort();
      if (names.length === 0) return [];
      const [metadata, configs] = await Promise.all([admin.fetchTopicMetadata({ topics: names }), topicConfigs(admin, names)]);
      const offsets = await Promise.all(names.map((name) => offsetsOf(admin, name)));
      const byName = new Map(metadata.topics.map((topic) => [topic.name, topic]));
      return names.map((name, i) => {
        const partitions = (byName.get(name)?.partitions ?? [])
          .map((p) => {
            const range = offsets[i]!.get(p.partitionId) ?? { low: 0, high: 0 };
            return { partition: p.partitionId, leader: p.leader, replicas: p.replicas, inSync: p.isr, low: range.low, high: range.high, records: range.high - range.low };
          })
          .sort((a, b) => a.partition - b.partition);
        const config = configs.get(name);
        return {
          topic: name,
          partitions,
          records: partitions.reduce((sum, p) => sum + p.records, 0),
          retentionMs: numberOrUndefined(config?.get('retention.ms')),
          retentionBytes: numberOrUndefined(config?.get('retention.bytes')),
          cleanupPolicy: config?.get('cleanup.policy'),
        };
      });
    });
  }

  /**
   * Every consumer group but the throwaway readers of Partita's tools, with lag per topic and
   * partition; with `only`, those of these ids that exist.
   */
  groups(only?: readonly string[]): Promise<GroupOverview[]> {
    return withAdmin(this.#kafka, async (admin) => {
      const ids = (await admin.listGroups()).groups
        .filter((g) => g.protocolType === 'consumer' || g.protocolType === '')
        .map((g) => g.groupId)
        .filter((id) => !id.startsWith('partita-reader-') && (only === undefined || only.includes(id)))
        .sort();
      if (ids.length === 0) return [];
      const described = new Map((await admin.describeGroups(ids)).groups.map((g) => [g.groupId, g]));
      const ends = new Map<string, Promise<Map<number, { low: number; high: number }>>>();
      const endsOf = (topic: string) => {
        let known = ends.get(topic);
        if (!known) ends.set(topic, (known = offsetsOf(admin, topic)));
        return known;
      };
      return Promise.all(
        ids.map(async (groupId) => {
          const committed = await admin.fetchOffsets({ groupId });
          const topics = await Promise.all(
            committed
              .filter((entry) => entry.partitions.some((p) => Number(p.offset) >= 0))
              .map(async (entry) => {
                const range = await endsOf(entry.topic);
                const partitions = entry.partitions
                  .map((p) => {
                    const offset = Number(p.offset);
                    const { low, high } = range.get(p.partition) ?? { low: 0, high: 0 };
                    return { partition: p.partition, committed: offset, end: high, lag: Math.max(0, high - (offset >= 0 ? offset : low)), metadata: p.metadata ?? null };
                  })
                  .sort((a, b) => a.partition - b.partition);
                return { topic: entry.topic, delayTier: parseDelayTopic(entry.topic) !== undefined, partitions, lag: partitions.reduce((sum, p) => sum + p.lag, 0) };
              }),
          );
          topics.sort((a, b) => a.topic.localeCompare(b.topic));
          const group = described.get(groupId);
          return {
            groupId,
            state: group?.state ?? 'Unknown',
            members: (group?.members ?? []).map((m) => ({ clientId: m.clientId, host: m.clientHost })),
            topics,
            lag: topics.reduce((sum, t) => sum + (t.delayTier ? 0 : t.lag), 0),
            scheduled: topics.reduce((sum, t) => sum + (t.delayTier ? t.lag : 0), 0),
          };
        }),
      );
    });
  }

  /**
   * The delay tiers that exist on the cluster, by job topic and tier (shortest first), with the
   * jobs waiting in each: written to the tier and not yet committed by the group that moves them on
   * (the group furthest along, when several consume a tier; every record, when none has committed),
   * and when the next one is due (read from the head record of each partition that has one waiting).
   * `only` narrows the read to the tiers of some job topics and the groups that consume them.
   */
  async delayTiers(only: { jobTopics?: readonly string[]; groupIds?: readonly string[] } = {}): Promise<DelayTierOverview[]> {
    const tiers = await this.#delayTierCounts(only);
    return Promise.all(
      tiers.map(async (tier) => {
        const heads = await Promise.all(
          tier.partitions.filter((p) => p.next < p.end).map(async (p) => (await this.#reader.read(tier.delayTopic, p.partition, p.next, p.end, 1)).records[0]),
        );
        const earliest = (header: string) => {
          const times = heads.map((record) => Date.parse(record?.headers[header] ?? '')).filter((time) => Number.isFinite(time));
          return times.length === 0 ? undefined : new Date(Math.min(...times));
        };
        return { ...tier, nextHopAt: earliest(ScheduleHeaders.delayUntil), nextDueAt: earliest(ScheduleHeaders.scheduledAt) };
      }),
    );
  }

  async #delayTierCounts(only: { jobTopics?: readonly string[]; groupIds?: readonly string[] }): Promise<Omit<DelayTierOverview, 'nextHopAt' | 'nextDueAt'>[]> {
    const tierTopics = only.jobTopics?.flatMap((topic) => delayTopics(topic));
    const [topics, groups] = await Promise.all([this.topics(tierTopics), this.groups(only.groupIds)]);
    const progress = new Map<string, Map<number, number>>();
    for (const group of groups) {
      for (const topic of group.topics) {
        const known = progress.get(topic.topic) ?? new Map<number, number>();
        for (const p of topic.partitions) known.set(p.partition, Math.max(known.get(p.partition) ?? -1, p.committed));
        progress.set(topic.topic, known);
      }
    }
    return topics
      .flatMap((topic) => {
        const parsed = parseDelayTopic(topic.topic);
        if (!parsed) return [];
        const committed = progress.get(topic.topic);
        const partitions = topic.partitions.map((p) => ({ partition: p.partition, next: Math.max(p.low, committed?.get(p.partition) ?? p.low), end: p.high }));
        return [
          {
            jobTopic: parsed.target,
            tier: parsed.tier.name,
            tierMs: parsed.tier.ms,
            delayTopic: topic.topic,
            waiting: partitions.reduce((sum, p) => sum + Math.max(0, p.end - p.next), 0),
            partitions,
          },
        ];
      })
      .sort((a, b) => a.jobTopic.localeCompare(b.jobTopic) || a.tierMs - b.tierMs);
  }
}

async function offsetsOf(admin: Admin, topic: string): Promise<Map<number, { low: number; high: number }>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
}

async function topicConfigs(admin: Admin, names: readonly string[]): Promise<Map<string, Map<string, string>>> {
  const configs = new Map<string, Map<string, string>>();
  const described = await admin
    .describeConfigs({
      includeSynonyms: false,
      resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms', 'retention.bytes', 'cleanup.policy'] })),
    })
    .catch(() => undefined);
  for (const resource of described?.resources ?? []) {
    if (resource.errorCode !== 0) continue;
    configs.set(resource.resourceName, new Map(resource.configEntries.map((entry) => [entry.configName, entry.configValue])));
  }
  return configs;
}

function numberOrUndefined(value: string | undefined): number | undefined {
  const parsed = Number(value);
  return value === undefined || !Number.isFinite(parsed) ? undefined : parsed;
}
