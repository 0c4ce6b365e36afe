import { expect } from 'chai';
import { Consumer } from '../../lib/consume/consumer.ts';
import type { Message } from '../../lib/kafka/inbound-message.ts';
import { ShutdownTimeoutError } from '../../lib/errors.ts';
import { stopApps, testApp } from '../support/app.ts';
import { Gate } from '../support/gate.ts';
import { Kafka, logLevel } from '../../lib/kafka/kafkajs.ts';
import { AssignerProtocol, PartitionAssigners, type PartitionAssigner } from 'kafkajs';
import { committedOffsets, createTopic, testBrokers, unique, waitFor, withAdmin } from '../support/kafka.ts';
import { produceRaw } from '../support/produce.ts';

/** Members the broker counts in a group now. */
async function groupMembers(groupId: string): Promise<number> {
  return withAdmin(async (admin) => (await admin.describeGroups([groupId])).groups[0]?.members.length ?? 0);
}

/** Settles `promise` or fails with `what` after `ms` (a hang becomes a failure, not a spec timeout). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('worker lifecycle (broker)', function () {
  this.timeout(120_000);
  afterEach(stopApps);

  it('stop() during run(): once both settled, no member is in the group and nothing ran', async () => {
    const topic = await createTopic(unique('stop-in-run'), 1);
    await produceRaw(topic, [{ key: 'k', value: 'v', partition: 0 }]);
    let consumed = 0;
    class Count extends Consumer {
      consume(messages: Message[]) {
        consumed += messages.length;
      }
    }
    const app = testApp().routes((r) => r.topic(topic, Count, (t) => t.initialOffset('earliest')));
    const running = app.run();
    await app.stop();
    await running;
    expect(await groupMembers(app.groupId), 'members of the group after stop() and run() settled').to.equal(0);
    expect(consumed, 'messages consumed after stop()').to.equal(0);
  });

  it('two routes sharing a dead-letter topic that does not exist yet: run() creates it once and both routes dead-letter into it', async () => {
    const [a, b] = [await createTopic(unique('dlq-share-a'), 1), await createTopic(unique('dlq-share-b'), 2)];
    const dlq = unique('dlq-shared');
    class Fails extends Consumer {
      consume(): void {
        throw new Error('always fails');
      }
    }
    const app = testApp().routes((r) => {
      r.topic(a, Fails, (t) => t.initialOffset('earliest').deadLetterQueue({ topic: dlq, maxRetries: 0 }));
      r.topic(b, Fails, (t) => t.initialOffset('earliest').deadLetterQueue({ topic: dlq, maxRetries: 0 }));
    });
    const deadLettered = new Set<string>();
    app.on('message.dead-lettered', (e) => deadLettered.add(e.topic));
    await app.run();
    const partitions = await withAdmin(async (admin) => (await admin.fetchTopicMetadata({ topics: [dlq] })).topics[0]!.partitions.length);
    expect(partitions, 'the shared DLQ has the partitions of its largest source').to.equal(2);
    await produceRaw(a, [{ key: 'k', value: 'a', partition: 0 }]);
    await produceRaw(b, [{ key: 'k', value: 'b', partition: 1 }]);
    await waitFor(() => deadLettered.size === 2, { what: 'a dead letter from each route' });
  });

  it('a job hung inside this.transaction(): stop() ends within the shutdown bound, reports the abandoned transaction, and the member leaves', async () => {
    const [input, output] = [await createTopic(unique('hung-tx-in'), 1), await createTopic(unique('hung-tx-out'), 1)];
    const release = new Gate();
    const entered = new Gate();
    class Hangs extends Consumer {
      async consume(messages: Message[]) {
        await this.transaction(async (tx) => {
          await tx.produce({ topic: output, key: 'k', value: `copy-${messages[0]!.offset}`, headers: {} });
          entered.open();
          // Ignores this.signal on purpose: only the spec lets it go, after the assertions.
          await release.wait();
        });
      }
    }
    await produceRaw(input, [{ key: 'k', value: 'v', partition: 0 }]);
    const app = testApp({ shutdownTimeoutMs: 1000 }).routes((r) => r.topic(input, Hangs, (t) => t.initialOffset('earliest').transactional()));
    const errors: { error: Error; kind?: string; topic?: string; partition?: number }[] = [];
    app.on('error', (e) => errors.push(e));
    await app.run();
    try {
      await within(entered.wait(), 60_000, 'the transaction block to open');
      await within(app.stop(), 60_000, 'stop()');
      const abandoned = errors.find((e) => e.kind === 'shutdown');
      expect(abandoned?.error, 'the abandoned transaction is reported').to.be.instanceOf(ShutdownTimeoutError);
      expect(abandoned!.error.message).to.contain(`${input}/0`).and.contain('shutdownTimeoutMs');
      expect(await groupMembers(app.groupId), 'members of the group after stop()').to.equal(0);
      expect((await committedOffsets(app.groupId, input)).get(0)!.offset, 'the hung message is not committed').to.equal(-1);
    } finally {
      release.open();
    }
  });

  it('stop() while a rebalance holds commits: the final commit is made after the rejoin, for the partitions still owned', async () => {
    const [topic, held] = [await createTopic(unique('stop-rebalance'), 1), await createTopic(unique('stop-rebalance-hold'), 1)];
    const groupId = unique('group');
    const app = testApp({ groupId, commitIntervalMs: 60_000 });
    const appClient = app.config.clientId!;
    // The group's leader is a plain kafkajs member whose assigner always gives the app the
    // partition of `topic` and itself the one of `held`; its batch on `held` returns only when the
    // spec says, so a rebalance stays open (PreparingRebalance) until then.
    const assign: PartitionAssigner = (config) => {
      const roundRobin = PartitionAssigners.roundRobin(config);
      return {
        ...roundRobin,
        async assign({ members }) {
          return members.map(({ memberId }) => ({
            memberId,
            memberAssignment: AssignerProtocol.MemberAssignment.encode({
              version: 1,
              assignment: memberId.startsWith(appClient) ? { [topic]: [0] } : memberId.startsWith('spec-holder') ? { [held]: [0] } : {},
              userData: Buffer.alloc(0),
            }),
          }));
        },
      };
    };
    const member = (clientId: string) =>
      new Kafka({ clientId, brokers: testBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId, partitionAssigners: [assign], sessionTimeout: 30_000, rebalanceTimeout: 60_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
    const holder = member('spec-holder');
    const joiner = member('spec-joiner');
    const holdRebalance = new Gate();
    const holding = new Gate();
    const finishJob = new Gate();
    let consumed = 0;
    class Waits extends Consumer {
      async consume(messages: Message[]) {
        await finishJob.wait();
        consumed += messages.length;
      }
    }
    app.routes((r) => r.topic(topic, Waits, (t) => t.initialOffset('earliest')));
    try {
      await holder.connect();
      await holder.subscribe({ topics: [topic, held], fromBeginning: true });
      await holder.run({
        autoCommit: false,
        eachBatch: async () => {
          holding.open();
          await holdRebalance.wait();
        },
      });
      let rebalancing = false;
      app.on('group.rebalancing', () => (rebalancing = true));
      await app.run();
      rebalancing = false;
      await produceRaw(topic, [{ key: 'k', value: 'job', partition: 0 }]);
      await produceRaw(held, [{ key: 'k', value: 'hold', partition: 0 }]);
      await within(holding.wait(), 60_000, 'the holder to take its batch');
      await waitFor(() => finishJob.entered === 1, { what: 'the job to start' });
      // A member joining starts a rebalance that stays open while the holder's batch runs.
      await joiner.connect();
      await joiner.subscribe({ topics: [held], fromBeginning: true });
      const joined = joiner.run({ autoCommit: false, eachMessage: async () => undefined });
      await waitFor(() => rebalancing, { what: 'the app to see the rebalance' });
      finishJob.open();
      await waitFor(() => consumed === 1, { what: 'the job to finish during the rebalance' });
      const stopped = app.stop();
      holdRebalance.open();
      await within(stopped, 60_000, 'stop()');
      await joined;
      expect((await committedOffsets(groupId, topic)).get(0)!.offset, 'the offset committed for the finished job').to.equal(1);
    } finally {
      holdRebalance.open();
      finishJob.open();
      await Promise.all([holder.disconnect(), joiner.disconnect()]);
    }
  });
});
