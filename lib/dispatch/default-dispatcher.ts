import { DispatcherNotConfiguredError } from '../errors.ts';
import { createKafka, type KafkaConnection } from '../kafka/client.ts';
import { KafkaProducerSender, type ProducerSettings } from '../kafka/producer.ts';
import { onShutdownSignal, ShutdownOrder } from '../shutdown.ts';
import { Dispatcher, type DispatcherOptions } from './dispatcher.ts';

/** Settings for the process-wide dispatcher that `performLater` uses. */
export interface DispatchConfiguration {
  kafka: KafkaConnection;
  dispatch?: DispatcherOptions & ProducerSettings;
  /**
   * Drain the buffer on SIGINT/SIGTERM before the process exits. Default true: a script that
   * enqueues with produceAsync and is stopped loses nothing it had buffered.
   */
  handleSignals?: boolean;
}

let current: { dispatcher: Dispatcher; removeHook: () => void } | undefined;

/**
 * Configures the dispatcher that `Job.performLater` uses in this process. Calling it again
 * replaces the previous dispatcher (which is closed, delivering what it buffered).
 */
export async function configure(configuration: DispatchConfiguration): Promise<Dispatcher> {
  const kafka = createKafka(configuration.kafka, 'configure.kafka');
  const { compression, ...bounds } = configuration.dispatch ?? {};
  const dispatcher = new Dispatcher(new KafkaProducerSender(kafka, { compression }), bounds);
  return useDispatcher(dispatcher, configuration.handleSignals ?? true);
}

/** Makes `dispatcher` the one jobs use (closing a previous one). */
export async function useDispatcher(dispatcher: Dispatcher, handleSignals = false): Promise<Dispatcher> {
  const previous = current;
  const removeHook = handleSignals ? onShutdownSignal(ShutdownOrder.dispatcher, () => dispatcher.close()) : () => {};
  current = { dispatcher, removeHook };
  if (previous && previous.dispatcher !== dispatcher) {
    previous.removeHook();
    await previous.dispatcher.close();
  }
  return dispatcher;
}

/** The dispatcher jobs use; throws when none was configured. */
export function currentDispatcher(): Dispatcher {
  if (!current) throw new DispatcherNotConfiguredError();
  return current.dispatcher;
}

/** True when a dispatcher is configured. */
export function hasDispatcher(): boolean {
  return current !== undefined;
}

/** Delivers everything buffered and closes the process-wide dispatcher. Safe to call twice. */
export async function closeDispatcher(): Promise<void> {
  const closing = current;
  current = undefined;
  if (!closing) return;
  closing.removeHook();
  await closing.dispatcher.close();
}
