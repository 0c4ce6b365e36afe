/**
 * The three-broker cluster the fault suite runs on: started (and stopped) through
 * infra/kafka/start.sh --nodes 3, its nodes found by their pid files, killed, frozen and resumed by pid.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel, type Admin } from '../lib/kafka/kafkajs.ts';

const run = promisify(execFile);
const INFRA = fileURLToPath(new URL('../infra/kafka/', import.meta.url));

/**
 * Broker settings for fast failover: a broker that stops heartbeating is fenced after 3 s and
 * its partitions get new leaders from the in-sync replicas.
 */
export const FAILOVER_PROPS = 'broker.session.timeout.ms=3000 broker.heartbeat.interval.ms=500 replica.lag.time.max.ms=10000';

const NODES = 3;

export class Cluster {
  readonly port: number;
  readonly controllerPort: number;
  readonly brokers: string[];
  #admin: Admin | undefined;

  constructor(port: number, controllerPort: number) {
    this.port = port;
    this.controllerPort = controllerPort;
    this.brokers = Array.from({ length: NODES }, (_, i) => `127.0.0.1:${port + 2 * i}`);
  }

  /** Starts the missing nodes (all of them the first time); resolves once every node is ready. */
  async start(): Promise<void> {
    await run('bash', [`${INFRA}start.sh`, '--nodes', String(NODES)], { env: this.#env(), maxBuffer: 1 << 22 });
  }

  /** Stops every node of the cluster and removes their data. */
  async stop(): Promise<void> {
    await this.#admin?.disconnect().catch(() => undefined);
    this.#admin = undefined;
    await run('bash', [`${INFRA}stop.sh`], { env: this.#env(), maxBuffer: 1 << 22 });
  }

  /** The pid of node `nodeId` (1..3), read from the pid file start.sh wrote. */
  pidOf(nodeId: number): number {
    return Number(readFileSync(`${INFRA}run/${this.port + 2 * (nodeId - 1)}/kafka.pid`, 'utf8').trim());
  }

  /** The node id leading `topic`/`partition` now (asked again while it has none, see {@link #pollMetadata}). */
  async leaderOf(topic: string, partition: number, timeoutMs = 60_000): Promise<number> {
    const leaderIn = (partitions: readonly { partitionId: number; leader: number }[]) =>
      partitions.find((p) => p.partitionId === partition)?.leader ?? -1;
    const partitions = await this.#pollMetadata(topic, (found) => leaderIn(found) >= 0, `${topic}/${partition} has no leader`, timeoutMs);
    return leaderIn(partitions);
  }

  /** kill -9 of node `nodeId`. */
  kill(nodeId: number): void {
    process.kill(this.pidOf(nodeId), 'SIGKILL');
  }

  /** SIGSTOP (freeze) or SIGCONT (resume) of node `nodeId`. */
  signal(nodeId: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
    process.kill(this.pidOf(nodeId), signal);
  }

  /** Creates a topic with replication 3 (min ISR 2 is the cluster default). */
  async createTopic(topic: string, partitions: number): Promise<void> {
    const admin = await this.admin();
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic, numPartitions: partitions, replicationFactor: NODES }] });
    await this.waitForLeaders(topic, partitions);
  }

  /** Waits until every partition of a new topic has a leader. */
  async waitForLeaders(topic: string, partitions: number, timeoutMs = 60_000): Promise<void> {
    await this.#pollMetadata(topic, (found) => found.filter((p) => p.leader >= 0).length === partitions, `${topic}: not every one of ${partitions} partitions has a leader`, timeoutMs);
  }

  /**
   * Asks for `topic`'s partition metadata every 200 ms until `done` holds, at most `timeoutMs`.
   * kafkajs's own `waitForLeaders` gives up on the "does not host this topic-partition" answers
   * that a just-created topic, or a broker that restarted in an earlier scenario, gives at first:
   * those count as "not yet".
   */
  async #pollMetadata(
    topic: string,
    done: (partitions: readonly { partitionId: number; leader: number }[]) => boolean,
    failure: string,
    timeoutMs: number,
  ): Promise<readonly { partitionId: number; leader: number }[]> {
    const admin = await this.admin();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const partitions = await admin
        .fetchTopicMetadata({ topics: [topic] })
        .then((metadata) => metadata.topics[0]?.partitions ?? [])
        .catch(() => []);
      if (done(partitions)) return partitions;
      if (Date.now() > deadline) throw new Error(`${failure} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Deletes the topics of a finished scenario that exist (the fewer partitions, the faster a node restarts). */
  async deleteTopics(topics: readonly string[]): Promise<void> {
    const admin = await this.admin();
    const existing = new Set(await admin.listTopics());
    const doomed = topics.filter((topic) => existing.has(topic));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
  }

  /** A shared admin client (reconnected after a failure). */
  async admin(): Promise<Admin> {
    if (!this.#admin) {
      const admin = new Kafka({ brokers: this.brokers, clientId: 'partita-chaos', logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      this.#admin = admin;
    }
    return this.#admin;
  }

  #env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_PORT: String(this.port),
      KAFKA_CONTROLLER_PORT: String(this.controllerPort),
      KAFKA_SERVER_PROPS: `${FAILOVER_PROPS} ${process.env.KAFKA_SERVER_PROPS ?? ''}`.trim(),
      KAFKA_HEAP_OPTS: process.env.KAFKA_HEAP_OPTS ?? '-Xms256m -Xmx768m',
      // A restarted node replays its logs and catches up with the metadata log first: slow on a busy machine.
      KAFKA_START_TIMEOUT: process.env.KAFKA_START_TIMEOUT ?? '300',
    };
    delete env.KAFKA_BROKERS;
    return env;
  }
}
