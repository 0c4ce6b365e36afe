import { ConfigResourceTypes, type Admin, type KafkaClient as Kafka } from './kafkajs.ts';
import { MissingTopicError, TopicNotReadyError } from '../errors.ts';
import { brokersOf, describeConnectFailure, reachBrokers } from './broker-check.ts';

/** A topic to create when missing. */
export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor?: number;
  configEntries?: Record<string, string>;
}

/**
 * Runs `body` with a connected admin client, disconnected afterwards. The first call for a client
 * checks that its brokers answer (see `reachBrokers`): no broker, or an address that is not Kafka,
 * fails with one clear `BrokerUnavailableError` within the connection's `connectTimeoutMs`.
 */
export async function withAdmin<T>(kafka: Kafka, body: (admin: Admin) => Promise<T>): Promise<T> {
  await reachBrokers(kafka);
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw describeConnectFailure(error, brokersOf(kafka));
  }
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
  // kafkajs's own waitForLeaders gives up on the "does not host this topic-partition" answer that a
  // broker whose metadata has not caught up gives for a topic just created: wait here instead.
  await admin.createTopics({
    waitForLeaders: false,
    topics: missing.map((spec) => ({
      topic: spec.topic,
      numPartitions: spec.partitions,
      replicationFactor: spec.replicationFactor ?? -1,
      configEntries: Object.entries(spec.configEntries ?? {}).map(([name, value]) => ({ name, value })),
    })),
  });
  await waitForLeaders(admin, missing);
  return missing.map((spec) => spec.topic);
}

/** How long topics just created may take to have a leader for every partition. */
const LEADER_WAIT_MS = 30_000;

/**
 * Resolves once every partition of the topics has a leader. Until then a metadata answer without
 * them, or an error (a broker that does not know the topic yet), means "not yet"; after
 * {@link LEADER_WAIT_MS} a `TopicNotReadyError` names the topics still without leaders.
 */
async function waitForLeaders(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  let waiting = specs;
  for (;;) {
    const led = await admin
      .fetchTopicMetadata({ topics: waiting.map((spec) => spec.topic) })
      .then(({ topics }) => new Set(topics.filter((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)).map((t) => t.name)))
      .catch(() => new Set<string>());
    waiting = waiting.filter((spec) => !led.has(spec.topic));
    if (waiting.length === 0) return;
    if (Date.now() > deadline) {
      const names = waiting.map((spec) => spec.topic);
      throw new TopicNotReadyError(
        names,
        `Created topic(s) ${names.map((name) => `"${name}"`).join(', ')} but not every partition had a leader after ` +
          `${LEADER_WAIT_MS / 1000} s; check the brokers' health (the controller and in-sync replicas) and start again.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
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

/** A topic a route consumes, with the partitions its `config()` asks for (when it has one). */
export interface DeclaredTopic {
  topic: string;
  partitions: number | undefined;
}

/** An existing topic with fewer partitions than its route's `config({ partitions })` asks for. */
export interface PartitionsMismatch {
  topic: string;
  /** Partitions the topic has. */
  partitions: number;
  /** Partitions `config()` asks for. */
  configured: number;
  /** What it means and what to do, in one line. */
  message: string;
}

/**
 * Checks the topics routes consume before anything is created or subscribed: a missing topic
 * without `config({ partitions })` (so nothing would create it) throws a {@link MissingTopicError}
 * naming it; an existing topic with fewer partitions than `config()` asks is returned, for a
 * `warning` event (Partita never adds partitions: that would move keys to other partitions).
 */
export async function checkDeclaredTopics(admin: Admin, declared: readonly DeclaredTopic[]): Promise<PartitionsMismatch[]> {
  const counts = await partitionCounts(admin, declared.map(({ topic }) => topic));
  const missing = [...new Set(declared.filter(({ topic, partitions }) => partitions === undefined && !counts.has(topic)).map(({ topic }) => topic))];
  if (missing.length > 0) {
    const names = missing.map((topic) => `"${topic}"`).join(', ');
    throw new MissingTopicError(
      missing,
      `${missing.length === 1 ? 'Topic' : 'Topics'} ${names} ${missing.length === 1 ? 'does' : 'do'} not exist, and ${missing.length === 1 ? 'its route has' : 'their routes have'} ` +
        `no config({ partitions }) to create ${missing.length === 1 ? 'it' : 'them'}. Create ${missing.length === 1 ? 'it' : 'them'} ` +
        `(kafka-topics.sh --create --topic ${missing[0]} --partitions N), or add .config({ partitions: N }) to the route so the worker creates it at start.`,
    );
  }
  return declared.flatMap(({ topic, partitions: configured }) => {
    const partitions = counts.get(topic);
    if (configured === undefined || partitions === undefined || partitions >= configured) return [];
    return [
      {
        topic,
        partitions,
        configured,
        message:
          `Topic "${topic}" has ${partitions} partition${partitions === 1 ? '' : 's'} but its route's config({ partitions: ${configured} }) asks for ${configured}; ` +
          `the topic is used as it is (Partita never adds partitions). To get ${configured}, run kafka-topics.sh --alter --topic ${topic} --partitions ${configured} ` +
          '(keys then move to other partitions), or set config({ partitions }) to what the topic has.',
      },
    ];
  });
}
