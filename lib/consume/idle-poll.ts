// Invariant: the partition is held only while it is idle and was caught up at its last fetch, and never longer than `pollMs` at a time.

/** How an idle partition is polled. */
export interface IdlePollSettings {
  /** How long a caught-up, idle partition stays out of fetches before it is fetched again, in ms. */
  pollMs: number;
  /** How long it is then fetched for (enough for a fetch request to include it and come back), in ms. */
  windowMs: number;
}

/** What idle polling needs from the partition. */
export interface IdlePollPorts {
  /** Holds (true) or lets go (false) fetching of the partition. */
  hold(on: boolean): void;
  /** Runs `callback` after `ms`; the returned function cancels it. */
  schedule(callback: () => void, ms: number): () => void;
}

/**
 * Keeps a caught-up, idle partition out of most fetches. kafkajs builds, sends and decodes every
 * assigned partition in every fetch request, so each partition that rarely has data (a long delay
 * tier) costs every fetch of the partitions that do: at 1 000 jobs/s with its 9 delay tiers an
 * 8-partition job topic is fetched as 80 partitions. A partition whose last fetch reached the high
 * watermark and whose processor has nothing left is held for `pollMs`, then fetched for `windowMs`,
 * and held again if nothing came. A message written meanwhile is fetched at most `pollMs` plus a
 * fetch later, which a tier whose messages wait several seconds does not notice.
 */
export class IdlePoll {
  readonly #settings: IdlePollSettings;
  readonly #ports: IdlePollPorts;
  #caughtUp = false;
  #held = false;
  #cancel: (() => void) | undefined;
  #stopped = false;

  constructor(settings: IdlePollSettings, ports: IdlePollPorts) {
    this.#settings = settings;
    this.#ports = ports;
  }

  /** True while the partition is held out of fetches. */
  get held(): boolean {
    return this.#held;
  }

  /**
   * The partition was just assigned. An empty partition never shows in a fetch's records (kafkajs
   * hands over no empty batch), so it is taken as caught up: held once a first window passes with
   * nothing fetched, as after every poll.
   */
  start(): void {
    this.#caughtUp = true;
    this.#awaitWindow();
  }

  /** A fetch brought records; `caughtUp` when its last record is the last one written. */
  fetched(caughtUp: boolean): void {
    this.#caughtUp = caughtUp;
    this.#cancelTimer();
    this.#setHeld(false);
  }

  /** The processor has nothing buffered or running: hold the partition when it was caught up. */
  idle(): void {
    if (this.#stopped || !this.#caughtUp || this.#held) return;
    this.#cancelTimer();
    this.#setHeld(true);
    this.#cancel = this.#ports.schedule(() => this.#poll(), this.#settings.pollMs);
  }

  /** No more holding (revocation, shutdown): lets go and cancels the timer. */
  stop(): void {
    this.#stopped = true;
    this.#cancelTimer();
    this.#setHeld(false);
  }

  #poll(): void {
    this.#cancel = undefined;
    this.#setHeld(false);
    this.#awaitWindow();
  }

  /** Nothing fetched within the window: the partition is still caught up and idle. */
  #awaitWindow(): void {
    this.#cancel = this.#ports.schedule(() => {
      this.#cancel = undefined;
      this.idle();
    }, this.#settings.windowMs);
  }

  #cancelTimer(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }

  #setHeld(on: boolean): void {
    if (this.#held === on) return;
    this.#held = on;
    this.#ports.hold(on);
  }
}
