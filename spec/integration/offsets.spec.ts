import { expect } from 'chai';
import { Consumer } from '../../lib/consume/consumer.ts';
import type { Message } from '../../lib/kafka/inbound-message.ts';
import { OffsetMetadataTooLargeError, UnmarkedOffsetsError } from '../../lib/errors.ts';
import { stopApps, testApp } from '../support/app.ts';
import { committedOffsets, createTopic, unique, waitFor } from '../support/kafka.ts';
import { produceRaw } from '../support/produce.ts';

/** Lane by the number after the dash in the key: `k-2` runs in lane 2. */
const laneByKeyNumber = { partitioner: (m: { key: string | null }) => m.key, reducer: (key: string, max: number) => Number(key.split('-')[1]) % max };

describe('offsets, marks and metadata with lanes (broker)', function () {
  afterEach(stopApps);

  it('V3: balanced distribution keeps each key in order and in one lane at a time, and spreads keys over every lane', async () => {
    const topic = await createTopic(unique('v3'), 1);
    const keys = [...Array(100).fill('hot'), ...Array.from({ length: 300 }, (_, n) => `cold-${n % 20}`)];
    await produceRaw(topic, keys.map((key, n) => ({ key, value: String(n), partition: 0 })));
    const runs: { lane: number; keys: string[]; offsets: number[] }[] = [];
    const laneOfRunningKey = new Map<string, number>();
    class Recorder extends Consumer {
      async consume(messages: Message[]) {
        const lane = this.lane;
        runs.push({ lane, keys: messages.map((m) => m.key!), offsets: messages.map((m) => m.offset) });
        for (const m of messages) {
          const other = laneOfRunningKey.get(m.key!);
          expect(other === undefined || other === lane, `key ${m.key} runs in lanes ${other} and ${lane} at once`).to.equal(true);
          laneOfRunningKey.set(m.key!, lane);
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
        for (const m of messages) laneOfRunningKey.delete(m.key!);
      }
    }
    const app = testApp({ maxBatchSize: 1000, maxBufferedMessages: 1000 }).routes((r) =>
      r.topic(topic, Recorder, (t) => t.virtualPartitions({ partitioner: (m) => m.key, maxPartitions: 4, distribution: 'balanced' })),
    );
    let seen = 0;
    app.on('lane.finished', (e) => (seen += e.size));
    await app.run();
    await waitFor(() => seen === 400, { what: '400 messages' });
    const offsetsOfKey = new Map<string, number[]>();
    for (const run of runs) {
      expect(run.offsets, 'offset order in a run').to.deep.equal([...run.offsets].sort((a, b) => a - b));
      run.keys.forEach((key, index) => offsetsOfKey.set(key, [...(offsetsOfKey.get(key) ?? []), run.offsets[index]!]));
    }
    for (const [key, offsets] of offsetsOfKey) expect(offsets, `key ${key} in offset order`).to.deep.equal([...offsets].sort((a, b) => a - b));
    expect(new Set(runs.map((run) => run.lane)).size, 'every lane ran').to.equal(4);
  });

  it('V10: per-message marks commit the highest contiguous offset before the retry', async () => {
    const topic = await createTopic(unique('v10'), 1);
    await produceRaw(topic, Array.from({ length: 24 }, (_, n) => ({ key: `k-${n % 4}`, value: String(n), partition: 0 })));
    let failedOnce = false;
    class Marker extends Consumer {
      async consume(messages: Message[]) {
        for (const m of messages) {
          if (m.offset === 10 && !failedOnce) {
            failedOnce = true;
            throw new Error('offset 10 fails once');
          }
          this.markAsConsumed(m);
        }
      }
    }
    const app = testApp({ backoff: { timeout: 1000 }, maxBatchSize: 1000 }).routes((r) =>
      r.topic(topic, Marker, (t) => t.manualOffsetManagement().virtualPartitions({ ...laneByKeyNumber, maxPartitions: 4 })),
    );
    const commits: { offset: number; at: number }[] = [];
    let retryStartedAt = 0;
    app.on('batch.committed', (e) => e.offsets.forEach((o) => commits.push({ offset: o.offset, at: e.at })));
    app.on('batch.started', (e) => {
      if (e.collapsed) retryStartedAt = Date.now();
    });
    await app.run();
    await waitFor(() => commits.some((c) => c.offset === 24), { what: 'the final commit' });
    const beforeRetry = commits.filter((c) => c.at <= retryStartedAt);
    expect(beforeRetry.map((c) => c.offset), 'commits before the collapsed retry').to.include(10);
    expect(Math.max(...beforeRetry.map((c) => c.offset))).to.equal(10);
  });

  for (const strategy of ['exact', 'current'] as const) {
    it(`V12: offsetMetadataStrategy '${strategy}' commits ${strategy === 'exact' ? 'the metadata of the committed offset' : 'the latest metadata given'}`, async () => {
      const topic = await createTopic(unique('v12'), 1);
      const groupId = unique('group');
      await produceRaw(topic, Array.from({ length: 20 }, (_, n) => ({ key: `k-${n % 2}`, value: String(n), partition: 0 })));
      class Slow extends Consumer {
        async consume(messages: Message[]) {
          for (const m of messages) {
            if (this.lane === 0) await new Promise((resolve) => setTimeout(resolve, 40));
            this.markAsConsumed(m, `m${m.offset}`);
          }
        }
      }
      const app = testApp({ groupId, maxBatchSize: 1000 }).routes((r) =>
        r.topic(topic, Slow, (t) => t.manualOffsetManagement().virtualPartitions({ ...laneByKeyNumber, maxPartitions: 2, offsetMetadataStrategy: strategy })),
      );
      await app.run();
      await waitFor(async () => (await committedOffsets(groupId, topic)).get(0)?.offset === 20, { what: 'offset 20 committed' });
      // Lane 1 (odd offsets) finishes first; lane 0's last mark (offset 18) is the latest in time.
      expect((await committedOffsets(groupId, topic)).get(0)!.metadata).to.equal(strategy === 'exact' ? 'm19' : 'm18');

      // The next owner sees the committed metadata at assignment.
      await app.stop();
      const seen: (string | null)[] = [];
      class Reader extends Consumer {
        consume() {
          seen.push(this.committedMetadata);
        }
      }
      await produceRaw(topic, [{ key: 'k-0', value: 'next', partition: 0 }]);
      const next = testApp({ groupId }).routes((r) => r.topic(topic, Reader));
      await next.run();
      await waitFor(() => seen.length > 0, { what: 'the next consume' });
      expect(seen[0]).to.equal(strategy === 'exact' ? 'm19' : 'm18');
    });
  }

  it('V12: with the lowest lane never marking, nothing is committed and nothing breaks', async () => {
    const topic = await createTopic(unique('v12-low'), 1);
    const groupId = unique('group');
    await produceRaw(topic, Array.from({ length: 20 }, (_, n) => ({ key: `k-${n % 2}`, value: String(n), partition: 0 })));
    class HalfMarker extends Consumer {
      consume(messages: Message[]) {
        if (this.lane === 1) for (const m of messages) this.markAsConsumed(m, `m${m.offset}`);
      }
    }
    const app = testApp({ groupId }).routes((r) => r.topic(topic, HalfMarker, (t) => t.manualOffsetManagement().virtualPartitions({ ...laneByKeyNumber, maxPartitions: 2, offsetMetadataStrategy: 'exact' })));
    const errors: unknown[] = [];
    let completedLanes = 0;
    app.on('error', (e) => errors.push(e));
    app.on('lane.finished', () => (completedLanes += 1));
    await app.run();
    await waitFor(() => completedLanes >= 2, { what: 'both lanes' });
    await produceRaw(topic, [{ key: 'k-1', value: 'more', partition: 0 }]);
    await waitFor(() => completedLanes >= 3, { what: 'the next batch' });
    expect(errors).to.deep.equal([]);
    expect((await committedOffsets(groupId, topic)).get(0)!.offset).to.equal(-1);
  });

  it('offset metadata over 4096 bytes is refused with an error naming the message', async () => {
    const topic = await createTopic(unique('meta-big'), 1);
    await produceRaw(topic, [{ key: 'k', value: 'x', partition: 0 }]);
    let thrown: unknown;
    class Greedy extends Consumer {
      consume(messages: Message[]) {
        try {
          this.markAsConsumed(messages[0]!, 'x'.repeat(5000));
        } catch (error) {
          thrown = error;
          this.markAsConsumed(messages[0]!, 'ref:blob-1');
        }
      }
    }
    const app = testApp().routes((r) => r.topic(topic, Greedy, (t) => t.manualOffsetManagement()));
    await app.run();
    await waitFor(() => thrown !== undefined, { what: 'the refused mark' });
    expect(thrown).to.be.instanceOf(OffsetMetadataTooLargeError);
    expect((thrown as Error).message).to.contain(`${topic}/0@0`).and.contain('4096');
    await waitFor(async () => (await committedOffsets(app.groupId, topic)).get(0)?.metadata === 'ref:blob-1', { what: 'the small metadata committed' });
  });

  it('a manual-offsets consumer that does not mark is paused at the unmarked bound, with an event, and resumes once it marks', async () => {
    const topic = await createTopic(unique('unmarked'), 1);
    // Small record batches and small fetches, so that fetching (not the broker's first batch) bounds what arrives.
    await produceRaw(topic, Array.from({ length: 1000 }, (_, n) => ({ key: 'k', value: `${n}:${'x'.repeat(100)}`, partition: 0 })), 20);
    const held: { consumer: Consumer; last: Message }[] = [];
    let consumed = 0;
    class Holder extends Consumer {
      consume(messages: Message[]) {
        consumed += messages.length;
        held.push({ consumer: this, last: messages[messages.length - 1]! });
      }
    }
    // Bound: 10 × maxBufferedMessages = 100 unmarked messages.
    const app = testApp({ maxBufferedMessages: 10, maxBatchSize: 10, consumer: { maxBytesPerPartition: 4096 } }).routes((r) => r.topic(topic, Holder, (t) => t.manualOffsetManagement()));
    const errors: { kind?: string; error: Error }[] = [];
    app.on('error', (e) => errors.push(e));
    await app.run();
    await waitFor(() => errors.some((e) => e.kind === 'unmarked-offsets'), { what: 'the unmarked-offsets event' });
    expect(consumed, 'consumed while held: the bound and a few fetches').to.be.lessThan(1000);
    expect(errors.find((e) => e.kind === 'unmarked-offsets')!.error).to.be.instanceOf(UnmarkedOffsetsError);
    expect(errors.find((e) => e.kind === 'unmarked-offsets')!.error.message).to.contain(`${topic}/0`).and.contain('markAsConsumed');
    const markHeld = () => {
      for (const { consumer, last } of held.splice(0)) consumer.markAsConsumed(last);
    };
    markHeld();
    const marking = setInterval(markHeld, 20);
    try {
      await waitFor(async () => (await committedOffsets(app.groupId, topic)).get(0)?.offset === 1000, { what: 'offset 1000 committed' });
    } finally {
      clearInterval(marking);
    }
  });
});
