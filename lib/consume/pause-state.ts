// Invariant: fetching of the partition is paused exactly while at least one reason holds it and the partition is not revoked.
import type { WorkerEmitter } from './worker-events.ts';

/**
 * Why fetching of a partition is held: the queue is full (`backpressure`), a `longRunningJob()`
 * batch runs, a failed batch waits for its retry (`backoff`), too many delivered messages are not
 * marked (`unmarked`), fast lanes ran far ahead of a slow one (`run-ahead`), the partition is caught
 * up and idle between polls (`idle`), or a lane asked for it (`hold:<lane>`).
 */
export type PauseReason = 'backpressure' | 'long-running' | 'backoff' | 'unmarked' | 'run-ahead' | 'idle' | `hold:${number}`;

/** What pause bookkeeping needs from the worker around it. */
export interface PausePorts {
  topic: string;
  partition: number;
  /** Pauses fetching of the partition (kafkajs `consumer.pause`). */
  pausePartition(): void;
  /** Resumes fetching of the partition (kafkajs `consumer.resume`). */
  resumePartition(): void;
  /** True once the partition was taken away: nothing holds its fetching then. */
  revoked(): boolean;
  events: WorkerEmitter;
}

/**
 * The reasons holding one partition's fetching. The partition is paused when the first reason
 * comes and resumed when the last one goes, each change told once (`partition.paused` with the
 * reason that paused it, `partition.resumed`).
 */
export class PauseState {
  readonly #ports: PausePorts;
  readonly #reasons = new Set<PauseReason>();
  #paused = false;

  constructor(ports: PausePorts) {
    this.#ports = ports;
  }

  /** True while fetching is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** True while `reason` holds fetching. */
  holds(reason: PauseReason): boolean {
    return this.#reasons.has(reason);
  }

  /** `reason` starts (`on`) or stops holding fetching; the partition is paused or resumed when that changes the answer. */
  set(reason: PauseReason, on: boolean): void {
    if (on) this.#reasons.add(reason);
    else this.#reasons.delete(reason);
    const shouldPause = this.#reasons.size > 0 && !this.#ports.revoked();
    if (shouldPause === this.#paused) return;
    this.#paused = shouldPause;
    const ref = { topic: this.#ports.topic, partition: this.#ports.partition };
    if (shouldPause) {
      this.#ports.pausePartition();
      this.#ports.events.emit('partition.paused', { ...ref, reason });
    } else {
      this.#ports.resumePartition();
      this.#ports.events.emit('partition.resumed', ref);
    }
  }

  /** Pause state is lost when kafkajs restarts its consumer: pause again if paused. */
  reapply(): void {
    if (this.#paused) this.#ports.pausePartition();
  }
}
