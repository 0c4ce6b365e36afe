import type { OffsetCommit } from '../kafka/records.ts';
import { partitionKey } from './assignment.ts';
import type { Materialized } from './offset-tracker.ts';
import type { WorkerEmitter } from './worker-events.ts';

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
 * Commits materialized offsets. Requests coalesce: one commit request is in flight at a time and
 * carries the latest position of every partition. Commits are held while the group rebalances and,
 * after the rejoin, sent only for partitions this worker still owns (a stale commit would overwrite
 * the new owner's progress).
 */
export class Committer {
  readonly #ports: CommitPorts;
  readonly #intervalMs: number;
  readonly #pending = new Map<string, OffsetCommit>();
  readonly #committed = new Map<string, { offset: number; metadata: string | null }>();
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #held = false;
  /** Called when the group has a new generation (a shutdown flush waits for it). */
  readonly #releaseWaiters = new Set<() => void>();

  constructor(ports: CommitPorts, intervalMs: number) {
    this.#ports = ports;
    this.#intervalMs = intervalMs;
  }

  /** Asks for a partition's position to be committed, now (`urgent`) or within the interval. */
  request(topic: string, partition: number, position: Materialized, urgent: boolean): void {
    const key = partitionKey(topic, partition);
    const done = this.#committed.get(key);
    if (done && done.offset === position.offset && done.metadata === position.metadata) return;
    this.#pending.set(key, { topic, partition, offset: position.offset, metadata: position.metadata });
    this.#schedule(urgent ? 0 : this.#intervalMs);
  }

  /** A transaction committed this position itself: nothing to send for it. */
  acknowledge(topic: string, partition: number, position: Materialized): void {
    const key = partitionKey(topic, partition);
    this.#committed.set(key, { offset: position.offset, metadata: position.metadata });
    const pending = this.#pending.get(key);
    if (pending && pending.offset <= position.offset) this.#pending.delete(key);
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
    const batch: OffsetCommit[] = [];
    for (const [key, commit] of this.#pending) {
      if (this.#ports.owns(commit.topic, commit.partition)) batch.push(commit);
      this.#pending.delete(key);
    }
    if (batch.length === 0) return;
    let failed = false;
    this.#inFlight = this.#ports.commit(batch).then(
      () => {
        for (const commit of batch) {
          this.#committed.set(partitionKey(commit.topic, commit.partition), { offset: commit.offset, metadata: commit.metadata });
        }
        this.#ports.events.emit('batch.committed', { offsets: batch, at: Date.now() });
      },
      () => {
        // Usually a rebalance: put back what no newer request replaced and try again later;
        // ownership is checked again before that commit is sent.
        for (const commit of batch) {
          const key = partitionKey(commit.topic, commit.partition);
          if (!this.#pending.has(key)) this.#pending.set(key, commit);
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
