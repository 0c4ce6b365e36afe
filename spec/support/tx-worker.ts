// A worker file for the transaction crash spec, run with `partita worker`. It copies each input
// message to $OUTPUT as "<partition>@<offset>" inside transactions, in one of three modes:
//   plain  no lanes, transactional route, one transaction per batch with the marks' offset inside
//   batch  8 lanes, transactionScope 'batch' (one transaction per batch, offset inside)
//   vp     8 lanes, one transaction per lane run, marks applied after each commit
import { createApp } from '../../lib/app.ts';
import { Consumer } from '../../lib/consume/consumer.ts';
import type { Message } from '../../lib/kafka/inbound-message.ts';

const { INPUT, OUTPUT, GROUP, MODE, KAFKA_BROKERS = '127.0.0.1:9092' } = process.env;
if (!INPUT || !OUTPUT || !GROUP || !MODE) throw new Error('tx-worker needs INPUT, OUTPUT, GROUP and MODE');

class Copier extends Consumer {
  async consume(messages: Message[]) {
    const copy = async () => {
      for (const m of messages) {
        await this.produceAsync({ topic: OUTPUT!, key: m.key, value: `${m.partition}@${m.offset}` });
        this.markAsConsumed(m);
      }
    };
    if (MODE === 'batch') await copy();
    else await this.transaction(copy);
  }
}

const lanes = { partitioner: (m: { key: string | null }) => m.key, maxPartitions: 8 };
export const app = createApp({
  clientId: `tx-worker-${MODE}`,
  groupId: GROUP,
  kafka: { brokers: KAFKA_BROKERS.split(','), logLevel: 'nothing' },
  maxBatchSize: 100,
  consumer: { sessionTimeout: 3000, rebalanceTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100 },
}).routes((r) =>
  r.topic(INPUT, Copier, (t) => {
    t.manualOffsetManagement();
    if (MODE === 'plain') t.transactional();
    if (MODE === 'batch') t.virtualPartitions({ ...lanes, transactionScope: 'batch' });
    if (MODE === 'vp') t.virtualPartitions(lanes);
  }),
);

export default app;
