import { AsyncLocalStorage } from 'node:async_hooks';
import type { Delivery, OutboundMessage } from '../kafka/outbound-message.ts';

/**
 * The transaction the current async context produces into. Everything produced inside a
 * transaction block — a consumer's `produce*`, `Job.performLater`, a dispatcher's sends — joins it.
 */
export interface TransactionScope {
  /** Sends into the open transaction (serialized), resolving with where the messages will be. */
  send(messages: readonly OutboundMessage[]): Promise<Delivery[]>;
}

/** What a transaction block gets. */
export interface TransactionHandle {
  /** Sends messages into the transaction (as does any produce call inside the block). */
  produce(messages: OutboundMessage | OutboundMessage[]): Promise<Delivery[]>;
  /** Rolls the block back when it returns: its messages and marks do not take effect. */
  abort(): void;
}

/** Runs a block in a transaction (what a worker gives consumers and jobs). */
export type TransactionRunner = <T>(body: (tx: TransactionHandle) => Promise<T>) => Promise<T>;

const storage = new AsyncLocalStorage<TransactionScope>();

/** The transaction of the current async context, if any. */
export function activeTransaction(): TransactionScope | undefined {
  return storage.getStore();
}

/** Runs `body` with `scope` as the active transaction. */
export function runInTransaction<T>(scope: TransactionScope, body: () => Promise<T>): Promise<T> {
  return storage.run(scope, body);
}
