import { ConfigResourceTypes, type Admin, type KafkaClient as Kafka } from './kafkajs.ts';

/** A topic to create when missing. */
export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor?: number;
  configEntries?: Record<string, string>;
}

/** Runs `body` with a connected admin client, disconnected afterwards. */
export async function withAdmin<T>(kafka: Kafka, body: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await body(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates the topics that do not exist yet; existing topics are left as they are. */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  if (specs.length === 0) return [];
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((spec) => ({
      topic: spec.topic,
      numPartitions: spec.partitions,
      replicationFactor: spec.replicationFactor ?? -1,
      configEntries: Object.entries(spec.configEntries ?? {}).map(([name, value]) => ({ name, value })),
    })),
  });
  return missing.map((spec) => spec.topic);
}

/**
 * The `max.message.bytes` of each topic (the largest record batch the broker accepts for it),
 * for the topics whose configuration could be read; the others are left out.
 */
export async function maxMessageBytes(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const limits = new Map<string, number>();
  if (topics.length === 0) return limits;
  const described = await admin
    .describeConfigs({
      includeSynonyms: false,
      resources: [...new Set(topics)].map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
    })
    .catch(() => undefined);
  for (const resource of described?.resources ?? []) {
    const value = Number(resource.configEntries.find((entry) => entry.configName === 'max.message.bytes')?.configValue);
    if (resource.errorCode === 0 && Number.isInteger(value) && value > 0) limits.set(resource.resourceName, value);
  }
  return limits;
}

/** Partition count per topic, for the topics that exist. */
export async function partitionCounts(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (topics.length === 0) return counts;
  const existing = new Set(await admin.listTopics());
  const present = [...new Set(topics)].filter((topic) => existing.has(topic));
  if (present.length === 0) return counts;
  const metadata = await admin.fetchTopicMetadata({ topics: present });
  for (const topic of metadata.topics) counts.set(topic.name, topic.partitions.length);
  return counts;
}
