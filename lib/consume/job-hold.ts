/**
 * The pause of an app's jobs (`app.pause()` / `app.resume()`): while held, a job lane starts no
 * further job; it waits before its next one until the hold is released or the lane must stop
 * (the partition was revoked, the worker is stopping). Jobs already running go on. Lanes that
 * wait keep their batch unfinished, so the partition stops fetching once `maxBufferedMessages`
 * wait (the worker stays in its group meanwhile).
 */
export class JobHold {
  #release: (() => void) | undefined;
  #released: Promise<void> = Promise.resolve();

  /** True between `hold()` and `release()`. */
  get held(): boolean {
    return this.#release !== undefined;
  }

  /** Holds jobs that have not started yet. Idempotent. */
  hold(): void {
    if (this.#release) return;
    this.#released = new Promise<void>((resolve) => (this.#release = resolve));
  }

  /** Lets held lanes go on. Idempotent. */
  release(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  /** Resolves at once when not held; else when released or when `signal` aborts. */
  async whenReleased(signal: AbortSignal): Promise<void> {
    if (!this.#release || signal.aborted) return;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([this.#released, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  }
}
