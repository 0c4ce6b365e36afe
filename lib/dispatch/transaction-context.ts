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

const storage = new AsyncLocalStorage<TransactionScope>();

/** The transaction of the current async context, if any. */
export function activeTransaction(): TransactionScope | undefined {
  return storage.getStore();
}

/** Runs `body` with `scope` as the active transaction. */
export function runInTransaction<T>(scope: TransactionScope, body: () => Promise<T>): Promise<T> {
  return storage.run(scope, body);
}
