import type { OutboundMessage } from '../kafka/outbound-message.ts';
import type { RawRecord } from '../kafka/records.ts';
import { describeCoordinates } from '../errors.ts';

/** Where a message was, or went: topic, partition, offset. */
export interface RecordPosition {
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
  /** Offset in the partition. */
  offset: number;
}

/**
 * That a dead letter was replayed: when, and where the replayed message went. Written to the
 * dead-letter topic's replay-mark topic in the same Kafka transaction as the replayed message.
 */
export interface ReplayMark {
  /** When the replay committed (ISO 8601). */
  at: string;
  /** Where the replayed message went (its source topic). */
  to: RecordPosition;
}

/**
 * The compacted topic holding the replay marks of dead-letter topic `deadLetterTopic`:
 * `__partita.replayed.<deadLetterTopic>`. The `__` prefix keeps it out of pattern routes.
 */
export function replayMarkTopic(deadLetterTopic: string): string {
  return `__partita.replayed.${deadLetterTopic}`;
}

/**
 * The transactional id of every replay of a dead-letter topic. One id for all of them: a replay
 * that starts fences any other still running (its transaction is aborted, nothing of it shows),
 * and waits for one that is committing, so that it reads every mark written before it.
 */
export function replayTransactionalId(deadLetterTopic: string): string {
  return `partita.replay.${deadLetterTopic}`;
}

/** The key of a dead letter's mark: `<dlq topic>/<partition>@<offset>`. */
export function replayMarkKey(deadLetter: RecordPosition): string {
  return `${describeCoordinates(deadLetter)}`;
}

/**
 * The mark message of a dead letter replayed to `to`. Marks of one dead-letter partition go to
 * one mark partition (the same number, modulo `markPartitions`), so one partition's marks are read
 * from one place.
 */
export function replayMarkMessage(deadLetter: RecordPosition, mark: ReplayMark, markPartitions: number): OutboundMessage {
  return {
    topic: replayMarkTopic(deadLetter.topic),
    key: replayMarkKey(deadLetter),
    value: JSON.stringify(mark),
    headers: {},
    partition: markPartition(deadLetter.partition, markPartitions),
  };
}

/** The mark partition of dead-letter partition `partition`. */
export function markPartition(partition: number, markPartitions: number): number {
  return partition % Math.max(markPartitions, 1);
}

/**
 * The marks among `records` (of a mark topic) for dead-letter partition `partition` of
 * `deadLetterTopic`, by offset. Records that are not marks of it are left out.
 */
export function readReplayMarks(records: readonly RawRecord[], deadLetterTopic: string, partition: number): Map<number, ReplayMark> {
  const prefix = `${deadLetterTopic}/${partition}@`;
  const marks = new Map<number, ReplayMark>();
  for (const record of records) {
    const key = record.key?.toString('utf8');
    if (key === undefined || !key.startsWith(prefix) || record.value === null) continue;
    const offset = Number(key.slice(prefix.length));
    const mark = parseMark(record.value);
    if (Number.isInteger(offset) && mark !== undefined) marks.set(offset, mark);
  }
  return marks;
}

function parseMark(value: Buffer): ReplayMark | undefined {
  try {
    const mark = JSON.parse(value.toString('utf8')) as Partial<ReplayMark>;
    const to = mark.to;
    if (typeof mark.at !== 'string' || typeof to !== 'object' || to === null) return undefined;
    if (typeof to.topic !== 'string' || !Number.isInteger(to.partition) || !Number.isInteger(to.offset)) return undefined;
    return { at: mark.at, to: { topic: to.topic, partition: to.partition, offset: to.offset } };
  } catch {
    return undefined;
  }
}
