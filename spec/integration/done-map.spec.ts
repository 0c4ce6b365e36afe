import { expect } from 'chai';
import { Consumer } from '../../lib/consume/consumer.ts';
import type { Message } from '../../lib/kafka/inbound-message.ts';
import { stopApps, testApp } from '../support/app.ts';
import { committedOffsets, createTopic, unique, waitFor } from '../support/kafka.ts';
import { produceRaw } from '../support/produce.ts';

/** Lane by the number after the dash in the key: `k-2` runs in lane 2. */
const laneByKeyNumber = { partitioner: (m: { key: string | null }) => m.key, reducer: (key: string, max: number) => Number(key.split('-')[1]) % max };

describe('crash-exact resume: the done-map in the commit metadata (broker)', function () {
  afterEach(stopApps);

  for (const strategy of ['exact', 'current'] as const) {
    it(`R2 (${strategy}): the next owner runs only what the first left unfinished above the committed offset, and reads the user's metadata alone`, async () => {
      const topic = await createTopic(unique('r2-stop'), 1);
      const groupId = unique('group');
      await produceRaw(topic, Array.from({ length: 40 }, (_, n) => ({ key: `k-${n % 4}`, value: String(n), partition: 0 })));
      const markedInA: number[] = [];
      let lastMetadata: string | undefined;
      // Lane 0 finishes offset 0 and then hangs until the worker gives up on it; lanes 1-3 finish everything.
      class FirstOwner extends Consumer {
        async consume(messages: Message[]) {
          for (const m of messages) {
            if (this.lane === 0 && m.offset > 0) {
              await new Promise((resolve) => this.signal.addEventListener('abort', resolve, { once: true }));
              return;
            }
            lastMetadata = `m${m.offset}`;
            this.markAsConsumed(m, lastMetadata);
            markedInA.push(m.offset);
          }
        }
      }
      const route = { ...laneByKeyNumber, maxPartitions: 4, offsetMetadataStrategy: strategy };
      const first = testApp({ groupId, shutdownTimeoutMs: 500 }).routes((r) => r.topic(topic, FirstOwner, (t) => t.manualOffsetManagement().virtualPartitions(route)));
      await first.run();
      await waitFor(() => markedInA.length === 31, { what: 'offset 0 and lanes 1-3 marked' });
      await first.stop();

      const raw = (await committedOffsets(groupId, topic)).get(0)!;
      expect(raw.offset, 'the end of the unbroken run of finished offsets (0-3)').to.equal(4);
      const userMetadata = strategy === 'exact' ? 'm3' : lastMetadata!;
      expect(raw.metadata!.startsWith('~pd1:'), `framed metadata ${raw.metadata}`).to.equal(true);
      expect(raw.metadata!.endsWith(`|${userMetadata}`)).to.equal(true);

      const ranInB: number[] = [];
      const metadataSeenByB: (string | null)[] = [];
      let inherited = 0;
      class NextOwner extends Consumer {
        consume(messages: Message[]) {
          metadataSeenByB.push(this.committedMetadata);
          for (const m of messages) ranInB.push(m.offset);
        }
      }
      const second = testApp({ groupId }).routes((r) => r.topic(topic, NextOwner, (t) => t.virtualPartitions(route)));
      second.on('partition.inherited', (e) => (inherited = e.finished));
      await second.run();
      const unfinished = Array.from({ length: 40 }, (_, n) => n).filter((offset) => !markedInA.includes(offset));
      await waitFor(async () => (await committedOffsets(groupId, topic)).get(0)?.offset === 40, { what: 'everything committed by the next owner' });
      expect(ranInB.sort((a, b) => a - b), 'the next owner ran exactly the unfinished jobs').to.deep.equal(unfinished);
      expect(inherited, 'lanes 1-3 above offset 4').to.equal(27);
      expect(new Set(metadataSeenByB)).to.deep.equal(new Set([userMetadata]));
      expect((await committedOffsets(groupId, topic)).get(0)!.metadata, 'nothing finished above the end: no frame').to.equal(null);
    });
  }

  it('metadata in the old format (a plain string, also one that starts like a frame) is read as the user metadata', async () => {
    for (const plain of ['checkpoint-7', '~pd1:not-a-frame']) {
      const topic = await createTopic(unique('r2-plain'), 1);
      const groupId = unique('group');
      await produceRaw(topic, Array.from({ length: 5 }, (_, n) => ({ key: 'k', value: String(n), partition: 0 })));
      class Writer extends Consumer {
        consume(messages: Message[]) {
          for (const m of messages) this.markAsConsumed(m, plain);
        }
      }
      const writer = testApp({ groupId }).routes((r) => r.topic(topic, Writer, (t) => t.manualOffsetManagement()));
      await writer.run();
      await waitFor(async () => (await committedOffsets(groupId, topic)).get(0)?.offset === 5, { what: 'offset 5 committed' });
      await writer.stop();
      expect((await committedOffsets(groupId, topic)).get(0)!.metadata, 'written exactly as older versions wrote it').to.equal(plain);

      await produceRaw(topic, [{ key: 'k', value: 'next', partition: 0 }]);
      let seen: string | null | undefined;
      class Reader extends Consumer {
        consume() {
          seen = this.committedMetadata;
        }
      }
      const reader = testApp({ groupId }).routes((r) => r.topic(topic, Reader, (t) => t.virtualPartitions({ partitioner: (m) => m.key, maxPartitions: 2 })));
      await reader.run();
      await waitFor(() => seen !== undefined, { what: 'the next message' });
      expect(seen).to.equal(plain);
      await reader.stop();
    }
  });
});
