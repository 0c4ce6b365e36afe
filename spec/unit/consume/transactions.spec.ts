import { expect } from 'chai';
import { createRequire } from 'node:module';
import { PartitionTransactions, type TransactionPorts } from '../../../lib/consume/transactions.ts';
import type { Delivery } from '../../../lib/kafka/outbound-message.ts';
import { TransactionError } from '../../../lib/errors.ts';
import '../../../lib/kafka/kafkajs.ts';
import { outcomeUnknown } from '../../../lib/kafka/outcome.ts';
import type { KafkaTransaction } from '../../../lib/kafka/producer.ts';

// kafkajs's own error classes, loaded after Partita's kafkajs module (which installs its filter first).
const errors = createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');
const timeout = () => new errors.KafkaJSNumberOfRetriesExceeded(new errors.KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'), { retryCount: 5, retryTime: 1000 });

const OUTPUT = { topic: 'out', key: 'k', value: 'v', headers: {} };

/** What the partition's producer was asked to do, in order. */
type Call = 'begin' | 'send' | 'sendOffsets' | 'commit' | 'abort' | 'reset';

/**
 * Ports over a scripted producer: `failSend` makes each send fail with that error, and the
 * transaction reports an unknown outcome after such an error, as KafkaProducerSender's does.
 */
function scripted(failSend?: () => Error): { ports: TransactionPorts; calls: Call[] } {
  const calls: Call[] = [];
  const begin = async (): Promise<KafkaTransaction> => {
    calls.push('begin');
    let unknown = false;
    return {
      send: async (): Promise<Delivery[]> => {
        calls.push('send');
        if (!failSend) return [{ topic: 'out', partition: 0, offset: 0 }];
        const error = failSend();
        unknown ||= outcomeUnknown(error);
        throw error;
      },
      sendOffsets: async () => void calls.push('sendOffsets'),
      commit: async () => void calls.push('commit'),
      abort: async () => void calls.push('abort'),
      get outcomeUnknown() {
        return unknown;
      },
    };
  };
  const ports: TransactionPorts = {
    topic: 'in',
    partition: 0,
    groupId: 'group',
    begin,
    resetProducer: async () => void calls.push('reset'),
    revoked: () => false,
    preview: () => ({ offset: 1, metadata: null }),
    commitMetadata: (position) => position.metadata,
    apply: () => undefined,
  };
  return { ports, calls };
}

describe('transactions under faults (unit)', () => {
  it('tells errors with an unknown outcome (timeouts, lost connections) from definite ones', () => {
    expect(outcomeUnknown(timeout())).to.equal(true);
    expect(outcomeUnknown(new (errors as unknown as { KafkaJSConnectionClosedError: new (message: string) => Error }).KafkaJSConnectionClosedError('Closed connection'))).to.equal(true);
    expect(outcomeUnknown(new errors.KafkaJSProtocolError({ message: 'timed out', type: 'REQUEST_TIMED_OUT', code: 7 } as never))).to.equal(true);
    expect(outcomeUnknown(new Error('wrapped', { cause: new errors.KafkaJSConnectionError('Connection error: ECONNRESET') }))).to.equal(true);
    expect(outcomeUnknown(new errors.KafkaJSProtocolError({ message: 'fenced', type: 'INVALID_PRODUCER_EPOCH', code: 47 } as never))).to.equal(false);
    expect(outcomeUnknown(new TypeError('a bug in the block'))).to.equal(false);
  });

  it('after a send whose outcome is unknown, the producer is re-created: no abort, no commit on the same one', async () => {
    const { ports, calls } = scripted(timeout);
    const transactions = new PartitionTransactions(ports);
    const failed = await transactions.run((tx) => tx.produce(OUTPUT), true).catch((error: unknown) => error);
    expect(failed).to.be.instanceOf(errors.KafkaJSNumberOfRetriesExceeded);
    expect(calls).to.deep.equal(['begin', 'send', 'reset']);
  });

  it('a block that catches a send with an unknown outcome is not committed', async () => {
    const { ports, calls } = scripted(timeout);
    const transactions = new PartitionTransactions(ports);
    const failed = await transactions
      .run(async (tx) => {
        await tx.produce(OUTPUT).catch(() => undefined);
        return 'done';
      }, true)
      .catch((error: unknown) => error);
    expect(failed).to.be.instanceOf(TransactionError);
    expect((failed as Error).message).to.match(/in\/0 failed with an unknown outcome/);
    expect(calls).to.deep.equal(['begin', 'send', 'reset']);
  });

  it('a definite failure aborts on the same producer, which is kept', async () => {
    const { ports, calls } = scripted(() => new errors.KafkaJSProtocolError({ message: 'too large', type: 'MESSAGE_TOO_LARGE', code: 10 } as never));
    const transactions = new PartitionTransactions(ports);
    await transactions.run((tx) => tx.produce(OUTPUT), true).catch(() => undefined);
    expect(calls).to.deep.equal(['begin', 'send', 'abort']);
  });
});
