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

  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this {
    this.#emitter.on(event, listener);
    return this;
  }

  off<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this {
    this.#emitter.off(event, listener);
    return this;
  }

  once<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this {
    this.#emitter.once(event, listener);
    return this;
  }

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

  listenerCount(event: keyof Events & string): number {
    return this.#emitter.listenerCount(event);
  }
}
