import { expect } from 'chai';
import { createRequire } from 'node:module';
import { filterAbortedRecords, type AbortedTransaction, type FetchedRecord } from '../../../lib/kafka/aborted-transactions.ts';
import { abortedFilterInstalled } from '../../../lib/kafka/kafkajs.ts';

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);
const record = (offset: number, producerId: string, kind: 'data' | 'abort' | 'commit' = 'data'): FetchedRecord & { label: string } => ({
  offset: String(offset),
  key: kind === 'data' ? Buffer.from(`k${offset}`) : kind === 'abort' ? ABORT : COMMIT,
  isControlRecord: kind !== 'data',
  batchContext: { producerId, inTransaction: true },
  label: `${producerId}${offset}${kind === 'data' ? '' : `:${kind}`}`,
});

describe('read_committed filter of aborted transactions (unit)', () => {
  // Producer B's transaction starts first but is aborted after A's: the broker lists A first.
  const messages = [record(0, 'B'), record(1, 'B'), record(2, 'A'), record(3, 'B'), record(4, 'A'), record(5, 'A', 'abort'), record(6, 'B', 'abort'), record(7, 'C')];
  const abortedTransactions: AbortedTransaction[] = [
    { producerId: 'A', firstOffset: '2' },
    { producerId: 'B', firstOffset: '0' },
  ];

  it('drops every record of interleaved aborted transactions, whatever order the broker lists them in', () => {
    const kept = filterAbortedRecords({ messages, abortedTransactions }).map((m) => m.label);
    expect(kept).to.deep.equal(['A5:abort', 'B6:abort', 'C7']);
  });

  it("kafkajs 2.2.4's own filter lets B's aborted records through (why Partita replaces it)", () => {
    const require = createRequire(import.meta.url);
    const path = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
    const cached = require.cache[path];
    delete require.cache[path];
    try {
      const original = require(path) as typeof filterAbortedRecords;
      const kept = original({ messages, abortedTransactions }).map((m) => m.label);
      expect(kept).to.include.members(['B0', 'B1']);
    } finally {
      if (cached) require.cache[path] = cached;
    }
  });

  it('keeps committed transactions and non-transactional records', () => {
    const plain = { ...record(9, 'D'), batchContext: { producerId: 'D', inTransaction: false } };
    const kept = filterAbortedRecords({ messages: [record(8, 'A'), plain], abortedTransactions: [{ producerId: 'B', firstOffset: '8' }] });
    expect(kept).to.have.length(2);
  });

  it('is the filter kafkajs uses in this process', () => {
    expect(abortedFilterInstalled).to.equal(true);
  });
});
