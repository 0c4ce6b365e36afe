/**
 * Dropping records of aborted transactions from a fetched batch, for read_committed consumers.
 * Pure; replaces kafkajs's own filter (see `kafkajs.ts` for why).
 *
 * The broker sends, with each partition's records, the aborted transactions that overlap them:
 * (producer id, first offset). A record is dropped when it is transactional and its producer has
 * an aborted transaction that started at or before it and whose abort marker has not been passed.
 * Aborted transactions are taken in order of first offset (the broker lists them in the order
 * they ended), and every one that has started by a record is taken before that record is judged.
 */

/** A record as kafkajs decodes it (only the fields the filter reads). */
export interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

/** An aborted transaction as the fetch response lists it. */
export interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

/** Control record key of an abort marker: version 0, type 0 (ABORT). */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

function isAbortMarker(record: FetchedRecord): boolean {
  return record.isControlRecord === true && record.key !== null && Buffer.from(record.key).equals(ABORT_MARKER_KEY);
}

/** The records that did not belong to an aborted transaction (control records are kept). */
export function filterAbortedRecords<R extends FetchedRecord>({ messages, abortedTransactions }: { messages: R[]; abortedTransactions?: AbortedTransaction[] }): R[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) => compareOffsets(a.firstOffset, b.firstOffset));
  const aborting = new Set<string>();
  return messages.filter((record) => {
    while (pending.length > 0 && compareOffsets(pending[0]!.firstOffset, record.offset) <= 0) aborting.add(pending.shift()!.producerId);
    const { producerId, inTransaction } = record.batchContext;
    if (isAbortMarker(record)) {
      aborting.delete(producerId);
      return true;
    }
    return !(inTransaction && aborting.has(producerId));
  });
}

/** Compares two int64 offsets given as decimal strings. */
function compareOffsets(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}
