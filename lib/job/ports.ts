/**
 * What jobs need from the layers above job/ (the house plan puts dispatch/ and consume/ there):
 * a sender for enqueues and a runner for transactions. dispatch/default-dispatcher.ts installs the
 * process's sender; the job consumer attaches a transaction runner to each job it runs.
 * @module
 */
import { DispatcherNotConfiguredError } from '../errors.ts';
import type { Delivery, OutboundMessage } from '../kafka/outbound-message.ts';

/**
 * What `performLater` and `performAllLater` send jobs through: the process-wide dispatcher,
 * installed by `configure()` / `useDispatcher()` and removed by `closeDispatcher()`.
 */
export interface JobSender {
  /** Sends, resolving with each message's delivery once the broker acknowledged it. */
  produceSync(messages: readonly OutboundMessage[]): Promise<Delivery[]>;
  /** Buffers, resolving once the messages are accepted for delivery. */
  produceAsync(messages: readonly OutboundMessage[]): Promise<void>;
  /**
   * Tracks an enqueue still running its callbacks in the current piece of work (a worker's lane),
   * so that the lane's marks wait for the deliveries it starts.
   */
  trackEnqueue(enqueuing: Promise<unknown>): void;
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

let installed: JobSender | undefined;

/** Makes `sender` the one jobs enqueue through (`undefined`: none). @internal */
export function installJobSender(sender: JobSender | undefined): void {
  installed = sender;
}

/** The sender jobs enqueue through; throws {@link DispatcherNotConfiguredError} when none is installed. */
export function jobSender(): JobSender {
  if (!installed) throw new DispatcherNotConfiguredError();
  return installed;
}

/** The installed sender, if any. */
export function installedJobSender(): JobSender | undefined {
  return installed;
}
