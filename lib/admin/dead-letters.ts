import { DeadLetterHeaders, replayMessage } from '../consume/dead-letter.ts';
import type { OutboundMessage } from '../kafka/outbound-message.ts';
import { describeCoordinates, DeadLetterNotFoundError, InvalidOptionError, PartitaError, ReplayConflictError } from '../errors.ts';
import { ensureTopics, partitionCounts, withAdmin } from '../kafka/admin.ts';
import { createKafka, type KafkaConnection } from '../kafka/client.ts';
import type { KafkaClient } from '../kafka/kafkajs.ts';
import { PartitionReader, type PartitionOffsets } from '../kafka/partition-reader.ts';
import { KafkaProducerSender, type KafkaTransaction } from '../kafka/producer.ts';
import type { RawRecord } from '../kafka/records.ts';
import { defaultLogger, type Logger } from '../logging/logger.ts';
import { describeDeadLetter, describeDeadLetterDetail, type DeadLetter, type DeadLetterDetail } from './dead-letter-entry.ts';
import { markPartition, readReplayMarks, replayMarkMessage, replayMarkTopic, replayTransactionalId, type RecordPosition, type ReplayMark } from './replay-marks.ts';

/** How to reach the cluster whose dead letters are read. */
export interface DeadLettersOptions {
  /** The cluster (the same shape as `createApp({ kafka })`). */
  kafka: KafkaConnection;
  /**
   * Where kafkajs's own lines go (at `kafka.logLevel`, default `error`).
   * @defaultValue the process's logger (`PARTITA_LOG_LEVEL`, `PARTITA_LOG_FORMAT`)
   */
  logger?: Logger;
}

/** One partition of a dead-letter topic. */
export interface DeadLetterPartition {
  /** Partition number. */
  partition: number;
  /** The oldest offset it holds. */
  low: number;
  /** The next offset to be written (below any transaction still open). */
  high: number;
  /**
   * Offsets between `low` and `high`: the dead letters, plus one commit marker per transaction on
   * a dead-letter topic written in transactions (a `transactional()` route), so at most the number
   * of dead letters there. Counting exactly would mean reading the whole partition.
   */
  offsets: number;
  /** Dead letters of this partition replayed so far. */
  replayed: number;
}

/** Counts of a dead-letter topic, for status pages. */
export interface DeadLetterCounts {
  /** Offsets held by every partition (see {@link DeadLetterPartition.offsets}). */
  total: number;
  /** Dead letters replayed. */
  replayed: number;
  /** `total` − `replayed`: dead letters not replayed yet (at most). */
  waiting: number;
  /** Per partition. */
  partitions: DeadLetterPartition[];
}

/** Which page of a dead-letter partition to read. */
export interface DeadLetterPageRequest {
  /** The dead-letter partition to read. */
  partition: number;
  /**
   * The first offset to read; below the partition's oldest, the oldest.
   * @defaultValue the partition's oldest offset
   */
  from?: number;
  /**
   * Most dead letters on the page (1 to 1000).
   * @defaultValue 50
   */
  limit?: number;
}

/** A page of dead letters: consecutive ones of one partition, from an offset on. */
export interface DeadLetterPage {
  /** The dead-letter topic. */
  topic: string;
  /** The partition read. */
  partition: number;
  /** The first offset read. */
  from: number;
  /** The offset the next page starts at (pass it as `from`). */
  next: number;
  /** The partition's end when the page was read; the page is the last one when `next` reached it. */
  end: number;
  /** The oldest offset the partition holds. */
  low: number;
  /** The dead letters read, in offset order (fewer than `limit` at the end of the partition). */
  entries: DeadLetter[];
}

/** Which dead letters to replay. */
export type ReplaySelection =
  /** These, by dead-letter partition and offset, replayed in that order (sorted). */
  | {
      /** The dead letters chosen. */
      offsets: {
        /** A partition of the dead-letter topic. */
        partition: number;
        /** An offset in it. */
        offset: number;
      }[];
    }
  /** Every dead letter that came from this source partition, in order. */
  | {
      /** The source partition. */
      source: {
        /** The source topic. */
        topic: string;
        /** The partition of the source topic. */
        partition: number;
      };
    }
  /** Every dead letter of the topic, partition by partition, in order. */
  | {
      /** Replay them all. */
      all: true;
    };

/** A dead letter that was replayed: where it was, where its message went. */
export interface ReplayedDeadLetter {
  /** The dead letter, in its dead-letter topic. */
  deadLetter: RecordPosition;
  /** Where the replayed message went (its source topic). */
  to: RecordPosition;
}

/** A dead letter a replay left alone, and why. */
export interface UnreplayedDeadLetter {
  /** The dead letter, in its dead-letter topic. */
  deadLetter: RecordPosition;
  /** `already-replayed` (its mark says when and where) or `not-replayable` (see `reason`). */
  why: 'already-replayed' | 'not-replayable';
  /** What is wrong with it (not a Partita dead letter, a reduced copy), or where it was replayed before. */
  reason: string;
  /** The earlier replay, for `already-replayed`. */
  mark?: ReplayMark;
}

/** What a replay did. */
export interface ReplayResult {
  /** Replayed now, in the order they were sent. */
  replayed: ReplayedDeadLetter[];
  /** Left alone: replayed before, or not replayable. */
  skipped: UnreplayedDeadLetter[];
}

/** Dead letters sent in one transaction while a partition or a topic is replayed. */
const REPLAY_CHUNK = 500;

/** Most dead letters on one page. */
const MAX_PAGE = 1000;

const DEFAULT_PAGE = 50;

/**
 * The dead-letter admin API: what a dead-letter topic holds, its pages, one dead letter, and
 * replays. Reads go by offset range to the partitions' leaders without a consumer group
 * (`read_committed`), so a page of a topic holding a million dead letters costs what a page of a
 * small one does, and a topic written in transactions reads to its end by position.
 *
 * A replay sends dead letters back to their source topics (original key, value and headers plus
 * `replayed-from`) and writes a replay mark for each (`__partita.replayed.<dlq topic>`, compacted)
 * in the same Kafka transaction. Every replay of a topic uses one transactional id: one that starts
 * fences any other still running (whose transaction is then aborted), and reads the marks only
 * after that, so no dead letter is replayed twice, even by two replays started at once or after a
 * replay that crashed halfway. Dead letters stay in their topic; listings show the mark.
 *
 * ```ts
 * const deadLetters = new DeadLetters({ kafka: { brokers: ['127.0.0.1:9092'] } });
 * const page = await deadLetters.page('jobs.dlq', { partition: 0, limit: 20 });
 * await deadLetters.replay('jobs.dlq', { offsets: [{ partition: 0, offset: page.entries[0].offset }] });
 * await deadLetters.close();
 * ```
 */
export class DeadLetters {
  readonly #kafka: KafkaClient;
  readonly #reader: PartitionReader;

  /**
   * Connects lazily: nothing is sent before the first call.
   * @param options the cluster (`kafka`) and where kafkajs's lines go (`logger`)
   */
  constructor(options: DeadLettersOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('DeadLetters', 'expected { kafka: { brokers: [...] } }');
    this.#kafka = createKafka({ logLevel: 'error', ...options.kafka }, 'DeadLetters.kafka', options.logger ?? defaultLogger());
    this.#reader = new PartitionReader(this.#kafka);
  }

  /** The partitions of a dead-letter topic with their offsets and replayed counts; empty when it does not exist. */
  async partitions(topic: string): Promise<DeadLetterPartition[]> {
    const offsets = await this.#reader.offsets(topic);
    const marks = await this.#marks(topic, offsets.map(({ partition }) => partition));
    return offsets.map(({ partition, low, high }) => ({ partition, low, high, offsets: high - low, replayed: marks.get(partition)?.size ?? 0 }));
  }

  /** Total, replayed and waiting counts of a dead-letter topic (zeros when it does not exist). */
  async counts(topic: string): Promise<DeadLetterCounts> {
    const partitions = await this.partitions(topic);
    const total = partitions.reduce((sum, p) => sum + p.offsets, 0);
    const replayed = partitions.reduce((sum, p) => sum + p.replayed, 0);
    return { total, replayed, waiting: Math.max(0, total - replayed), partitions };
  }

  /**
   * Up to `limit` dead letters of one partition from offset `from` on, decoded, with their replay
   * marks. Reads only that range.
   */
  async page(topic: string, request: DeadLetterPageRequest): Promise<DeadLetterPage> {
    const limit = request.limit ?? DEFAULT_PAGE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new InvalidOptionError('page.limit', `expected an integer from 1 to ${MAX_PAGE}, got ${String(limit)}`);
    if (request.from !== undefined && (!Number.isInteger(request.from) || request.from < 0)) throw new InvalidOptionError('page.from', `expected an offset >= 0, got ${String(request.from)}`);
    const offsets = await this.#partitionOffsets(topic, request.partition);
    const from = Math.max(request.from ?? offsets.low, offsets.low);
    const slice = await this.#reader.read(topic, request.partition, from, offsets.high, limit, pageBytes(limit));
    const marks = (await this.#marks(topic, [request.partition])).get(request.partition);
    return {
      topic,
      partition: request.partition,
      from,
      next: slice.next,
      end: offsets.high,
      low: offsets.low,
      entries: slice.records.map((record) => describeDeadLetter(record, marks?.get(record.offset))),
    };
  }

  /** One dead letter with its headers and value, or undefined when the offset holds none. */
  async get(topic: string, partition: number, offset: number): Promise<DeadLetterDetail | undefined> {
    const record = await this.#record(topic, partition, offset);
    if (record === undefined) return undefined;
    const mark = (await this.#marks(topic, [partition])).get(partition)?.get(offset);
    return describeDeadLetterDetail(record, mark);
  }

  /**
   * Replays dead letters (see the class comment): each at most once, in dead-letter offset order,
   * so the dead letters of one source partition (one dead-letter partition) keep their order and
   * one key's jobs arrive in the order they failed. A selection naming an offset that holds no
   * dead letter throws a {@link DeadLetterNotFoundError} before anything is sent. A replay fenced
   * by another one started meanwhile throws a {@link ReplayConflictError}; what it committed before
   * stays replayed (and marked), the rest was not sent.
   */
  async replay(topic: string, selection: ReplaySelection): Promise<ReplayResult> {
    const offsets = await this.#reader.offsets(topic);
    if (offsets.length === 0) throw new DeadLetterNotFoundError(topic, [], `Dead-letter topic "${topic}" does not exist`);
    const markPartitions = await this.#ensureMarkTopic(topic, offsets.length);
    const producer = new KafkaProducerSender(this.#kafka, { transactionalId: replayTransactionalId(topic) });
    await producer.connect();
    const result: ReplayResult = { replayed: [], skipped: [] };
    try {
      // Beginning the first transaction fences older replays and waits for one committing; the
      // marks are read after it, so they include everything replayed before.
      let transaction: KafkaTransaction | undefined = await producer.beginTransaction();
      const partitions = partitionsOf(selection, offsets);
      const marks = await this.#marks(topic, partitions.map(({ partition }) => partition));
      const replayChunk = async (records: RawRecord[]) => {
        const chosen: { record: RawRecord; message: OutboundMessage }[] = [];
        for (const record of records) {
          const mark = marks.get(record.partition)?.get(record.offset);
          const deadLetter = { topic, partition: record.partition, offset: record.offset };
          if (mark !== undefined) {
            result.skipped.push({ deadLetter, why: 'already-replayed', reason: `replayed at ${mark.at} to ${describeCoordinates(mark.to)}`, mark });
            continue;
          }
          try {
            chosen.push({ record, message: replayMessage(record) });
          } catch (error) {
            if (!(error instanceof PartitaError)) throw error;
            result.skipped.push({ deadLetter, why: 'not-replayable', reason: error.message });
          }
        }
        if (chosen.length === 0) return;
        transaction ??= await producer.beginTransaction();
        const deliveries = await transaction.send(chosen.map(({ message }) => message));
        const at = new Date().toISOString();
        const written = chosen.map(({ record }, i) => ({ deadLetter: { topic, partition: record.partition, offset: record.offset }, to: deliveries[i]! }));
        await transaction.send(written.map(({ deadLetter, to }) => replayMarkMessage(deadLetter, { at, to }, markPartitions)));
        await transaction.commit();
        transaction = undefined;
        for (const entry of written) {
          result.replayed.push(entry);
          marks.get(entry.deadLetter.partition)?.set(entry.deadLetter.offset, { at, to: entry.to });
        }
      };
      try {
        if ('offsets' in selection) {
          await replayChunk(await this.#selected(topic, selection.offsets, offsets));
        } else {
          for (const { partition, low, high } of partitions) {
            for (let from = low; from < high; ) {
              const slice = await this.#reader.read(topic, partition, from, high, REPLAY_CHUNK);
              await replayChunk('source' in selection ? slice.records.filter((record) => isFrom(record, selection.source)) : slice.records);
              if (slice.next === from) break;
              from = slice.next;
            }
          }
        }
        await transaction?.abort();
      } catch (error) {
        await transaction?.abort().catch(() => undefined);
        throw describeReplayFailure(error, topic, result);
      }
    } finally {
      await producer.disconnect();
    }
    return result;
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    await this.#reader.close();
  }

  async #partitionOffsets(topic: string, partition: number): Promise<PartitionOffsets> {
    const offsets = (await this.#reader.offsets(topic)).find((p) => p.partition === partition);
    if (offsets === undefined) throw new DeadLetterNotFoundError(topic, [], `Dead-letter topic "${topic}" has no partition ${partition} (or does not exist)`);
    return offsets;
  }

  /** The dead letter at an offset; `known` saves asking for the partition's offsets again. */
  async #record(topic: string, partition: number, offset: number, known?: PartitionOffsets): Promise<RawRecord | undefined> {
    const { low, high } = known ?? (await this.#partitionOffsets(topic, partition));
    if (offset < low || offset >= high) return undefined;
    const { records } = await this.#reader.read(topic, partition, offset, offset + 1, 1);
    return records.find((record) => record.offset === offset);
  }

  /** The records at the chosen offsets, sorted; throws naming the offsets that hold no dead letter. */
  async #selected(topic: string, chosen: readonly { partition: number; offset: number }[], offsets: readonly PartitionOffsets[]): Promise<RawRecord[]> {
    const unique = [...new Map(chosen.map((c) => [`${c.partition}@${c.offset}`, c])).values()].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    const records: RawRecord[] = [];
    const missing: { partition: number; offset: number }[] = [];
    for (const { partition, offset } of unique) {
      const known = offsets.find((p) => p.partition === partition);
      const record = known === undefined ? undefined : await this.#record(topic, partition, offset, known);
      if (record === undefined) missing.push({ partition, offset });
      else records.push(record);
    }
    if (missing.length > 0) {
      throw new DeadLetterNotFoundError(topic, missing, `No dead letter in "${topic}" at ${missing.map((m) => `${m.partition}@${m.offset}`).join(', ')}; nothing was replayed`);
    }
    return records;
  }

  /** The replay marks of some partitions of a dead-letter topic, by partition then offset. */
  async #marks(topic: string, partitions: readonly number[]): Promise<Map<number, Map<number, ReplayMark>>> {
    const marks = new Map<number, Map<number, ReplayMark>>(partitions.map((p) => [p, new Map()]));
    const markTopic = replayMarkTopic(topic);
    const markOffsets = await this.#reader.offsets(markTopic);
    if (markOffsets.length === 0) return marks;
    const byMarkPartition = new Map<number, number[]>();
    for (const partition of partitions) {
      const at = markPartition(partition, markOffsets.length);
      byMarkPartition.set(at, [...(byMarkPartition.get(at) ?? []), partition]);
    }
    for (const [at, deadLetterPartitions] of byMarkPartition) {
      const { low, high } = markOffsets.find((p) => p.partition === at)!;
      const { records } = await this.#reader.read(markTopic, at, low, high);
      for (const partition of deadLetterPartitions) marks.set(partition, readReplayMarks(records, topic, partition));
    }
    return marks;
  }

  async #ensureMarkTopic(topic: string, partitions: number): Promise<number> {
    const markTopic = replayMarkTopic(topic);
    return withAdmin(this.#kafka, async (admin) => {
      await ensureTopics(admin, [{ topic: markTopic, partitions, configEntries: { 'cleanup.policy': 'compact' } }]);
      return (await partitionCounts(admin, [markTopic])).get(markTopic) ?? partitions;
    });
  }
}

/**
 * Bytes one fetch of a page asks for: about 4 KiB a dead letter, from 64 KiB to 1 MiB (the broker
 * sends at least one whole record batch anyway), so a page reads little more than it shows.
 */
function pageBytes(limit: number): number {
  return Math.min(1_048_576, Math.max(65_536, limit * 4096));
}

/** The dead-letter partitions a selection reads from. */
function partitionsOf(selection: ReplaySelection, offsets: readonly PartitionOffsets[]): PartitionOffsets[] {
  if ('all' in selection) return [...offsets];
  if ('source' in selection) {
    // Dead letters of source partition P are in dead-letter partition P modulo the partition count.
    const at = selection.source.partition % offsets.length;
    return offsets.filter(({ partition }) => partition === at);
  }
  const chosen = new Set(selection.offsets.map(({ partition }) => partition));
  return offsets.filter(({ partition }) => chosen.has(partition));
}

function isFrom(record: RawRecord, source: { topic: string; partition: number }): boolean {
  return record.headers[DeadLetterHeaders.sourceTopic] === source.topic && record.headers[DeadLetterHeaders.sourcePartition] === String(source.partition);
}

/** A fenced replay as a {@link ReplayConflictError}; other errors as they are. */
function describeReplayFailure(error: unknown, topic: string, result: ReplayResult): unknown {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth += 1) {
    const type = (cause as { type?: unknown }).type;
    if (type === 'PRODUCER_FENCED' || type === 'INVALID_PRODUCER_EPOCH' || /fenced|epoch/i.test(cause.message)) {
      return new ReplayConflictError(
        topic,
        result.replayed,
        `Another replay of "${topic}" started while this one ran, and took over: ${result.replayed.length} dead letters were replayed ` +
          'before that, the rest of this replay was not sent. Replay again once the other one finished (replayed dead letters are skipped).',
        { cause: error },
      );
    }
  }
  return error;
}
