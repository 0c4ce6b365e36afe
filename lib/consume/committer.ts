import type { OffsetCommit, OffsetAndMetadata } from '../kafka/records.ts';
import { partitionKey } from './assignment.ts';
import { encodeCommitMetadata } from './done-map.ts';
import type { WorkerEmitter } from './worker-events.ts';

/** A partition's position to commit, with what its done-map should carry. */
export interface CommitPosition extends OffsetAndMetadata {
  /** How many offsets above `offset` are finished now: when it grows, a commit is due even if the offset did not move. */
  finishedCount: number;
  /** The finished offsets above `offset`, read when the commit is sent (so it carries the latest). */
  finished(): readonly number[];
}

/**
 * Where a partition's commit position is read, when the commit is sent: a partition asks for a
 * commit once and keeps marking, and the position is worked out once per commit, not per mark.
 */
export interface CommitSource {
  /** The position to commit now; undefined when there is none (nothing materialized, or revoked). */
  position(): CommitPosition | undefined;
}

/** What was last committed for a partition. */
interface Committed extends OffsetAndMetadata {
  finishedCount: number;
}

interface PendingCommit {
  topic: string;
  partition: number;
  source: CommitSource;
}

/** What the committer needs from the Kafka side. */
export interface CommitPorts {
  commit(offsets: OffsetCommit[]): Promise<void>;
  /** True while this worker owns the partition (checked right before each commit). */
  owns(topic: string, partition: number): boolean;
  events: WorkerEmitter;
}

/** Wait before a failed commit is tried again. */
const COMMIT_RETRY_MS = 1000;

/**
 * Commits materialized offsets, with the user's metadata and the done-map (finished offsets above
 * the offset, see done-map.ts) in the commit metadata. Requests coalesce: one commit request is in
 * flight at a time and carries the latest position of every partition. Commits are held while the group rebalances and,
 * after the rejoin, sent only for partitions this worker still owns (a stale commit would overwrite
 * the new owner's progress).
 */
export class Committer {
  readonly #ports: CommitPorts;
  readonly #intervalMs: number;
  readonly #pending = new Map<string, PendingCommit>();
  readonly #committed = new Map<string, Committed>();
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #held = false;
  /** Called when the group has a new generation (a shutdown flush waits for it). */
  readonly #releaseWaiters = new Set<() => void>();

  constructor(ports: CommitPorts, intervalMs: number) {
    this.#ports = ports;
    this.#intervalMs = intervalMs;
  }

  /**
   * Asks for a partition's position to be committed, now (`urgent`) or within the interval. The
   * position is read from `source` when the commit is sent, and sent when the offset moved, its
   * metadata changed, or more offsets above it finished since the last commit.
   */
  request(topic: string, partition: number, source: CommitSource, urgent: boolean): void {
    this.#pending.set(partitionKey(topic, partition), { topic, partition, source });
    this.#schedule(urgent ? 0 : this.#intervalMs);
  }

  /**
   * A transaction committed this position itself: nothing to send for it. Its done-map is not
   * counted on, so finished offsets above it are committed again by the next request.
   */
  acknowledge(topic: string, partition: number, position: OffsetAndMetadata): void {
    const key = partitionKey(topic, partition);
    this.#committed.set(key, { offset: position.offset, metadata: position.metadata, finishedCount: 0 });
    const pending = this.#pending.get(key)?.source.position();
    if (pending === undefined || (pending.offset <= position.offset && pending.finishedCount === 0)) this.#pending.delete(key);
  }

  /**
   * The group is rebalancing. While it is still gathering members the old generation may commit
   * (as a Java consumer does when its partitions are revoked), so what is pending goes out now;
   * later commits are held until {@link release}, when ownership is known again.
   */
  hold(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#send();
    this.#held = true;
  }

  /** The group has a new generation: send held commits for partitions still owned. */
  release(): void {
    this.#held = false;
    for (const resume of [...this.#releaseWaiters]) resume();
    this.#schedule(0);
  }

  /** Drops what is pending for a partition this worker lost, and what it knew was committed. */
  forget(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    this.#pending.delete(key);
    this.#committed.delete(key);
  }

  /**
   * Sends everything pending now and waits for it (used at shutdown). While the group rebalances,
   * it first waits for the rejoin (until `deadline`, a `Date.now()` time) and sends for the
   * partitions still owned then; past the deadline it sends anyway, before the member leaves (a
   * commit of a generation that is over is refused by the broker, never applied).
   */
  async flush(deadline: number): Promise<void> {
    if (this.#held && this.#pending.size > 0) await this.#released(deadline);
    this.#held = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (let round = 0; round < 3 && (this.#pending.size > 0 || this.#inFlight); round += 1) {
      if (this.#inFlight) await this.#inFlight;
      if (this.#pending.size > 0) await this.#send();
    }
  }

  #released(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const resume = () => {
        clearTimeout(timer);
        this.#releaseWaiters.delete(resume);
        resolve();
      };
      const timer = setTimeout(resume, Math.max(0, deadline - Date.now()));
      this.#releaseWaiters.add(resume);
    });
  }

  /** True when `position` says nothing the last commit of the partition did not. */
  #isCommitted(key: string, position: CommitPosition): boolean {
    const done = this.#committed.get(key);
    return done !== undefined && done.offset === position.offset && done.metadata === position.metadata && done.finishedCount >= position.finishedCount;
  }

  #schedule(delayMs: number): void {
    if (this.#held || this.#pending.size === 0) return;
    if (this.#timer && delayMs > 0) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#send();
    }, delayMs);
  }

  async #send(): Promise<void> {
    if (this.#inFlight || this.#held) return;
    const batch: { pending: PendingCommit; position: CommitPosition; finished: readonly number[] }[] = [];
    for (const [key, pending] of this.#pending) {
      this.#pending.delete(key);
      const position = pending.source.position();
      if (position === undefined || !this.#ports.owns(pending.topic, pending.partition) || this.#isCommitted(key, position)) continue;
      batch.push({ pending, position, finished: position.finished() });
    }
    if (batch.length === 0) return;
    const encoded = batch.map(({ position, finished }) => encodeCommitMetadata({ offset: position.offset, metadata: position.metadata, finished }));
    const offsets: OffsetCommit[] = batch.map(({ pending: { topic, partition }, position }, i) => ({ topic, partition, offset: position.offset, metadata: encoded[i]!.metadata }));
    let failed = false;
    const sentAt = Date.now();
    this.#inFlight = this.#ports.commit(offsets).then(
      () => {
        for (const { pending, position: { offset, metadata }, finished } of batch) {
          this.#committed.set(partitionKey(pending.topic, pending.partition), { offset, metadata, finishedCount: finished.length });
        }
        this.#ports.events.emit('batch.committed', {
          offsets: batch.map(({ pending: { topic, partition }, position }, i) => ({ topic, partition, offset: position.offset, metadata: position.metadata, finished: encoded[i]!.finished })),
          at: Date.now(),
          durationMs: Date.now() - sentAt,
        });
      },
      () => {
        // Usually a rebalance: put back what no newer request replaced and try again later;
        // ownership is checked again before that commit is sent.
        for (const { pending } of batch) {
          const key = partitionKey(pending.topic, pending.partition);
          if (!this.#pending.has(key)) this.#pending.set(key, pending);
        }
        failed = true;
      },
    );
    try {
      await this.#inFlight;
    } finally {
      this.#inFlight = undefined;
      if (this.#pending.size > 0) this.#schedule(failed ? COMMIT_RETRY_MS : 0);
    }
  }
}
