import { EventEmitter } from 'node:events';
import { toError } from './errors.ts';

/**
 * A typed event emitter. `error` events never throw when nobody listens: an unobserved failure is
 * logged to stderr once instead of crashing the process.
 */
export class TypedEmitter<Events extends object> {
  readonly #emitter = new EventEmitter();

  constructor() {
    this.#emitter.setMaxListeners(100);
  }

  /** Calls `listener` with the payload of every `event` from now on. */
  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this {
    this.#emitter.on(event, listener);
    return this;
  }

  /** Stops calling a listener that `on` or `once` added. */
  off<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this {
    this.#emitter.off(event, listener);
    return this;
  }

  /** Calls `listener` with the payload of the next `event` only. */
  once<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this {
    this.#emitter.once(event, listener);
    return this;
  }

  /** Calls the listeners of `event` with `payload`; a listener that throws is reported on stderr, never to the emitter. An `error` nobody listens to goes to stderr. */
  emit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
    if (event === 'error' && this.#emitter.listenerCount('error') === 0) {
      const error = (payload as { error?: unknown }).error ?? payload;
      process.stderr.write(`partita: ${toError(error).message}\n`);
      return;
    }
    try {
      this.#emitter.emit(event, payload);
    } catch (listenerError) {
      // A listener's bug must not break the engine that emitted the event.
      process.stderr.write(`partita: a listener of "${event}" threw: ${String(listenerError)}\n`);
    }
  }

  /** How many listeners `event` has. */
  listenerCount(event: keyof Events & string): number {
    return this.#emitter.listenerCount(event);
  }
}
