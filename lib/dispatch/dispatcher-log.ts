import type { Dispatcher } from './dispatcher.ts';
import { errorClassName } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';

/** Writes a dispatcher's retries (warn) and errors (error, with the stack) to `logger`. */
export function logDispatcherEvents(dispatcher: Dispatcher, logger: Logger): void {
  dispatcher.on('delivery.retry', ({ messages, error, attempt, waitMs }) => {
    logger.warn(
      { event: 'delivery.retry', messages, attempt, waitMs, error: `${errorClassName(error)}: ${error.message}` },
      `sending ${messages} buffered ${messages === 1 ? 'message' : 'messages'} failed (attempt ${attempt}: ${errorClassName(error)}: ${error.message}); retrying in ${waitMs} ms`,
    );
  });
  dispatcher.on('error', ({ error }) => {
    logger.error({ event: 'error', kind: 'dispatch', err: error }, `dispatch: ${errorClassName(error)}: ${error.message}`);
  });
}
