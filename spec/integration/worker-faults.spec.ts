import { expect } from 'chai';
import { Consumer } from '../../lib/consume/consumer.ts';
import type { Message } from '../../lib/kafka/inbound-message.ts';
import { ConsumerRestartError } from '../../lib/errors.ts';
import { Kafka, logLevel, type KafkaClient } from '../../lib/kafka/kafkajs.ts';
import { PartitionAssigners } from 'kafkajs';
import { stopApps, testApp } from '../support/app.ts';
import { startDedicatedBroker, type DedicatedBroker } from '../support/dedicated-broker.ts';
import { unique, waitFor } from '../support/kafka.ts';

// Faults are injected into a broker of this file's own: frozen with SIGSTOP (it keeps its sockets
// and answers nothing), then thawed. Short client timeouts make the failures come in seconds.
const FAST_FAILING = { requestTimeout: 1500, connectionTimeout: 1000, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 } };

describe('worker faults (dedicated broker, frozen with SIGSTOP)', function () {
  this.timeout(180_000);
  let broker: DedicatedBroker;
  let kafka: KafkaClient;

  before(async function () {
    this.timeout(300_000);
    broker = await startDedicatedBroker();
    kafka = new Kafka({ clientId: 'spec-faults', brokers: broker.brokers, logLevel: logLevel.NOTHING });
  });
  afterEach(async () => {
    broker.thaw();
    await stopApps();
  });
  after(async function () {
    this.timeout(120_000);
    await broker?.stop();
  });

  async function createTopic(prefix: string, partitions = 1): Promise<string> {
    const topic = unique(prefix);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] });
    } finally {
      await admin.disconnect();
    }
    return topic;
  }

  /** Produces to partition 0; a broker just thawed may refuse the first connections, so it tries again. */
  async function produce(topic: string, count: number): Promise<void> {
    const messages = Array.from({ length: count }, (_, n) => ({ key: `k${n}`, value: String(n), partition: 0 }));
    for (let attempt = 1; ; attempt += 1) {
      const producer = kafka.producer();
      try {
        await producer.connect();
        await producer.send({ topic, messages });
        return;
      } catch (error) {
        if (attempt === 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    }
  }

  function app(config: Parameters<typeof testApp>[0] = {}) {
    return testApp({ ...config, kafka: { brokers: broker.brokers, logLevel: 'nothing', client: FAST_FAILING } });
  }

  it('a failed read of the committed offsets at assignment is reported, never an unhandled rejection; the partition reads again and runs', async () => {
    const topic = await createTopic('fetch-fails');
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const consumed: string[] = [];
      class Collect extends Consumer {
        consume(messages: Message[]) {
          for (const m of messages) consumed.push(m.value!.toString());
        }
      }
      // An empty partition gets no batch, so nothing but the engine itself handles the failed read.
      const worker = app().routes((r) => r.topic(topic, Collect, (t) => t.initialOffset('earliest')));
      const errors: { error: Error; kind?: string }[] = [];
      worker.on('error', (e) => errors.push(e));
      // Frozen between the assignment and the read of the committed offsets (the handler runs
      // before the read's request is written).
      worker.once('partition.assigned', () => broker.freeze());
      await worker.run();
      await waitFor(() => errors.some((e) => e.kind === 'offset-fetch'), { what: 'the failed read to be reported', timeoutMs: 60_000 });
      broker.thaw();
      await produce(topic, 1);
      await waitFor(() => consumed.length > 0, { what: 'the message produced after the broker came back', timeoutMs: 90_000 });
      expect(unhandled, 'unhandled rejections').to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('after kafkajs restarts a crashed consumer, no queued job of a partition it lost starts before the partition is assigned again', async () => {
    const topic = await createTopic('restart-revokes');
    await produce(topic, 300);
    const timeline: string[] = [];
    let performed = 0;
    class Slow extends Consumer {
      async consume(messages: Message[]) {
        for (const m of messages) {
          timeline.push(`start ${m.offset}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
          performed += 1;
          if (performed === 5) broker.freeze();
        }
      }
    }
    const worker = app({ maxBatchSize: 1 }).routes((r) => r.topic(topic, Slow, (t) => t.initialOffset('earliest')));
    worker.on('partition.assigned', () => timeline.push('assigned'));
    let performedAtRestart = 0;
    worker.on('error', (e) => {
      if (e.kind === 'consumer-restart' && !timeline.includes('restart')) {
        timeline.push('restart');
        performedAtRestart = performed;
        broker.thaw();
      }
    });
    await worker.run();
    await waitFor(() => timeline.includes('restart'), { what: 'kafkajs to restart its consumer', timeoutMs: 90_000 });
    await waitFor(() => timeline.lastIndexOf('assigned') > timeline.indexOf('restart'), { what: 'the partition to be assigned again', timeoutMs: 90_000 });
    const between = timeline.slice(timeline.indexOf('restart'), timeline.indexOf('assigned', timeline.indexOf('restart')));
    expect(between.filter((entry) => entry.startsWith('start')), 'jobs started between the crash and the new assignment').to.deep.equal([]);
    expect(performedAtRestart, 'jobs done when kafkajs restarted (the rest were queued)').to.be.lessThan(250);
  });

  it('after a crash kafkajs does not restart, new consumers are tried with a backoff, each failure reported, until one joins', async () => {
    const topic = await createTopic('crash-retried');
    const groupId = unique('group');
    // A member of another protocol holds the group: joining it fails with
    // INCONSISTENT_GROUP_PROTOCOL, an error kafkajs does not restart on.
    const other = kafka.consumer({
      groupId,
      partitionAssigners: [
        (config) => {
          const roundRobin = PartitionAssigners.roundRobin(config);
          return { ...roundRobin, name: 'spec-other', protocol: (subscription) => ({ ...roundRobin.protocol(subscription), name: 'spec-other' }) };
        },
      ],
    });
    await other.connect();
    await other.subscribe({ topic });
    await other.run({ eachMessage: async () => undefined });
    const admin = kafka.admin();
    await admin.connect();
    await waitFor(
      async () => {
        const [group] = (await admin.describeGroups([groupId])).groups;
        return group?.state === 'Stable' && group.protocol === 'spec-other';
      },
      { what: 'the other member to hold the group' },
    );
    await admin.disconnect();
    const consumed: string[] = [];
    class Collect extends Consumer {
      consume(messages: Message[]) {
        for (const m of messages) consumed.push(m.value!.toString());
      }
    }
    const worker = app({ groupId }).routes((r) => r.topic(topic, Collect, (t) => t.initialOffset('earliest')));
    const errors: { error: Error; kind?: string }[] = [];
    worker.on('error', (e) => {
      errors.push(e);
      // The first new consumer meets a frozen broker and cannot start.
      if (errors.length === 1 && e.kind === 'consumer-crash') broker.freeze();
    });
    const running = worker.run();
    try {
      await waitFor(() => errors.length >= 2, { what: 'the failed start of the first new consumer to be reported', timeoutMs: 90_000 });
      broker.thaw();
      await other.disconnect();
      await running;
      await produce(topic, 1);
      await waitFor(() => consumed.length > 0, { what: 'a message consumed by a later consumer', timeoutMs: 90_000 });
      const failure = errors[1]!.error;
      expect(failure).to.be.instanceOf(ConsumerRestartError);
      expect(failure.message).to.contain(groupId).and.contain('attempt 1').and.contain('Trying again in');
    } finally {
      broker.thaw();
      await other.disconnect();
    }
  });

  it('a pattern pick-up whose new worker cannot start is reported and tried again until it runs', async () => {
    const prefix = unique('pick');
    const first = `${prefix}-a`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: first, numPartitions: 1 }] });
    const consumed = new Set<string>();
    class Collect extends Consumer {
      consume(messages: Message[]) {
        for (const m of messages) consumed.add(m.topic);
      }
    }
    const worker = app({ discoveryIntervalMs: 500 }).routes((r) => r.pattern(new RegExp(`^${prefix}-`), Collect, (t) => t.initialOffset('earliest')));
    const errors: { error: Error; kind?: string }[] = [];
    worker.on('error', (e) => {
      errors.push(e);
      if (e.kind === 'worker-start') broker.thaw();
    });
    await worker.run();
    const second = `${prefix}-b`;
    // Frozen once the new topic is found: the old worker stops, the new one cannot start.
    worker.once('topic.discovered', () => broker.freeze());
    // The freeze may come while this request still waits for the topic's leader.
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: second, numPartitions: 1 }] }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await waitFor(() => errors.some((e) => e.kind === 'worker-start'), { what: 'the failed start to be reported', timeoutMs: 90_000 });
    await produce(first, 1);
    await produce(second, 1);
    await waitFor(() => consumed.has(first) && consumed.has(second), { what: 'both topics consumed by the worker started again', timeoutMs: 90_000 });
    expect(errors.find((e) => e.kind === 'worker-start')!.error).to.be.instanceOf(ConsumerRestartError);
  });
});
