// Invariant: a fencing partition starts from an offset read after the previous owner's producer was fenced, never from one read before.
import { toError } from '../errors.ts';
import type { WorkerEmitter } from './worker-events.ts';
import type { OffsetAndMetadata } from '../kafka/records.ts';

/** What a partition's start needs from the processor and the Kafka side. */
export interface StartPorts {
  topic: string;
  partition: number;
  /** True for routes whose output is transactional (`transactional`, or `transactionScope: 'batch'`): the previous owner is fenced first. */
  fences: boolean;
  /** The read made at assignment; `undefined` when it failed (it was reported, and is read again). */
  assigned: Promise<{ committed: OffsetAndMetadata | undefined } | undefined>;
  /** Fences the previous owner's producer, waiting for a transaction it left open to end. */
  fence(): Promise<void>;
  /** Reads the group's committed offset and metadata for this partition now. */
  fetchCommitted(): Promise<OffsetAndMetadata | undefined>;
  /** True once the partition was revoked or the worker stops: the start is given up. */
  stopped(): boolean;
  /** Waits before try `attempt + 1` (returns early when stopped). */
  wait(attempt: number): Promise<void>;
  events: WorkerEmitter;
}

/**
 * Where a partition starts, read before its first batch: the committed offset and metadata. A
 * route that does not fence uses the read made at assignment when it worked. A fencing route
 * first fences the previous owner and then reads the committed offset, now stable: records below
 * it were delivered from an older committed offset and are done (`fenced` says so). A failed
 * try is reported (`transaction-prepare` or `offset-fetch`) and tried again after a wait, until
 * it works or the partition stops (then undefined).
 */
export async function startPosition(ports: StartPorts): Promise<{ committed: OffsetAndMetadata | undefined; fenced: boolean } | undefined> {
  if (!ports.fences) {
    const assigned = await ports.assigned;
    if (assigned) return { committed: assigned.committed, fenced: false };
  }
  for (let attempt = 1; !ports.stopped(); attempt += 1) {
    try {
      if (ports.fences) await ports.fence();
      return { committed: await ports.fetchCommitted(), fenced: ports.fences };
    } catch (cause) {
      const error = toError(cause);
      ports.events.emit('error', { error, topic: ports.topic, partition: ports.partition, kind: ports.fences ? 'transaction-prepare' : 'offset-fetch' });
      await ports.wait(attempt);
    }
  }
  return undefined;
}
