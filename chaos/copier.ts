// The transactional worker of the fault suite, run with `partita worker chaos/copier.ts`: copies
// each record of $INPUT to $OUTPUT (same key, value "<partition>@<offset>") inside one transaction
// per batch, with the batch's offset in the transaction: exactly once for read_committed readers.
import { Consumer, createApp, type Message } from '../lib/index.ts';

const { INPUT, OUTPUT, GROUP, KAFKA_BROKERS } = process.env;
if (!INPUT || !OUTPUT || !GROUP || !KAFKA_BROKERS) throw new Error('chaos/copier.ts needs INPUT, OUTPUT, GROUP and KAFKA_BROKERS');

class Copier extends Consumer {
  async consume(messages: Message[]): Promise<void> {
    await this.transaction(async () => {
      for (const m of messages) {
        await this.produceAsync({ topic: OUTPUT!, key: m.key, value: `${m.partition}@${m.offset}` });
        this.markAsConsumed(m);
      }
    });
  }
}

export const app = createApp({
  clientId: 'chaos-copier',
  groupId: GROUP,
  kafka: { brokers: KAFKA_BROKERS.split(','), logLevel: 'nothing' },
  maxBatchSize: 100,
  consumer: { sessionTimeout: 10_000, rebalanceTimeout: 20_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 },
}).routes((r) => r.topic(INPUT, Copier, (t) => t.manualOffsetManagement().transactional()));

export default app;
