import { DispatcherNotConfiguredError } from '../errors.ts';
import { createKafka, type KafkaConnection } from '../kafka/client.ts';
import { logDispatcherEvents } from './dispatcher-log.ts';
import { resolveLogger, type Logger, type LogLevel } from '../logging/logger.ts';
import { KafkaProducerSender, type ProducerSettings } from '../kafka/producer.ts';
import { installJobSender } from '../job/ports.ts';
import { onShutdownSignal, ShutdownOrder, type ShutdownContext } from '../shutdown.ts';
import { currentDeliveryScope } from './delivery-scope.ts';
import { Dispatcher, type DispatcherOptions } from './dispatcher.ts';

/** Settings for the process-wide dispatcher that `performLater` uses. */
export interface DispatchConfiguration {
  /** How to reach Kafka. */
  kafka: KafkaConnection;
  /** The dispatcher's bounds and producer settings (each has its default: `partita config` lists them under `dispatch.`). */
  dispatch?: DispatcherOptions & ProducerSettings;
  /**
   * Deliver the buffer on SIGINT/SIGTERM. When Partita's handler is the only one for the signal,
   * it refuses later enqueues, delivers what was accepted and exits (status 1 if jobs were lost);
   * when the app has its own handler, it only delivers what is buffered and leaves exiting to the
   * app. @defaultValue true
   */
  handleSignals?: boolean;
  /**
   * Where delivery retries, errors and kafkajs's lines are logged.
   * @defaultValue the process's logger (`PARTITA_LOG_LEVEL`, `PARTITA_LOG_FORMAT`, stderr)
   */
  logger?: Logger;
  /**
   * Level of the dispatcher's own logger, when no `logger` is given.
   * @defaultValue `PARTITA_LOG_LEVEL`, else `'info'`
   */
  logLevel?: LogLevel;
}

let current: { dispatcher: Dispatcher; removeHook: () => void } | undefined;

/** A configured dispatcher disconnects after this long without messages to deliver. */
export const IDLE_DISCONNECT_MS = 1000;

/**
 * Configures the dispatcher that `Job.performLater` uses in this process. Calling it again
 * replaces the previous dispatcher (which is closed, delivering what it buffered). Its connections
 * keep the process alive only while it has jobs to deliver: it disconnects after
 * {@link IDLE_DISCONNECT_MS} without any (and connects again for the next job), so a script that
 * enqueued exits by itself once its jobs are delivered.
 */
export async function configure(configuration: DispatchConfiguration): Promise<Dispatcher> {
  const logger = resolveLogger(configuration.logger, configuration.logLevel, 'configure');
  const kafka = createKafka(configuration.kafka, 'configure.kafka', logger);
  const { compression, ...bounds } = configuration.dispatch ?? {};
  let idleTimer: NodeJS.Timeout | undefined;
  const dispatcher: Dispatcher = new Dispatcher(new KafkaProducerSender(kafka, { compression }), bounds, {
    onBusyChange: (busy) => {
      clearTimeout(idleTimer);
      if (busy) return;
      idleTimer = setTimeout(() => void dispatcher.release(), IDLE_DISCONNECT_MS);
      idleTimer.unref();
    },
  });
  logDispatcherEvents(dispatcher, logger);
  return useDispatcher(dispatcher, configuration.handleSignals ?? true);
}

/** Makes `dispatcher` the one jobs use (closing a previous one). */
export async function useDispatcher(dispatcher: Dispatcher, handleSignals = false): Promise<Dispatcher> {
  const previous = current;
  const removeHook = handleSignals ? onShutdownSignal(ShutdownOrder.dispatcher, (context) => drainOnSignal(dispatcher, context)) : () => {};
  current = { dispatcher, removeHook };
  installJobSender({
    produceSync: (messages) => dispatcher.produceSync(messages),
    produceAsync: (messages) => dispatcher.produceAsync(messages),
    trackEnqueue: (enqueuing) => currentDeliveryScope()?.trackStep(enqueuing),
  });
  if (previous && previous.dispatcher !== dispatcher) {
    previous.removeHook();
    await previous.dispatcher.close();
  }
  return dispatcher;
}

/**
 * On a signal. When Partita exits the process afterwards: later enqueues are held (never
 * accepted), everything accepted is delivered, and one line says what was done. When the app
 * handles the signal itself: what is buffered is sent now, and the dispatcher stays open for
 * whatever the app's own shutdown still enqueues.
 */
async function drainOnSignal(dispatcher: Dispatcher, { signal, exiting }: ShutdownContext): Promise<void> {
  if (!exiting) return dispatcher.flush();
  let delivered = 0;
  const count = ({ messages }: { messages: number }) => (delivered += messages);
  dispatcher.on('delivery.sent', count);
  try {
    await dispatcher.close({ refuse: 'hold' });
  } finally {
    dispatcher.off('delivery.sent', count);
    const refused = dispatcher.refused > 0 ? `; refused ${dispatcher.refused} enqueued after the signal` : '';
    process.stderr.write(`partita: ${signal}: delivered ${delivered} buffered message${delivered === 1 ? '' : 's'} before exiting${refused}\n`);
  }
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

/**
 * Delivers everything buffered and closes the process-wide dispatcher. Rejects with
 * `JobsLostError`, naming the lost jobs, when some could not be delivered. Safe to call twice.
 */
export async function closeDispatcher(): Promise<void> {
  const closing = current;
  current = undefined;
  installJobSender(undefined);
  if (!closing) return;
  closing.removeHook();
  await closing.dispatcher.close();
}
