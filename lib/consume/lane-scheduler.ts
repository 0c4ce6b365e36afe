// Invariants: (1) a keyed message starts only after every earlier message of its key finished; (2) no key is in two lanes at once; (3) at most `maxPartitions` lanes run; keyless messages promise no order.
import type { Reducer } from '../routing/route.ts';
import { reducerLane, type Distribution } from './lanes.ts';

/** How a partition's messages are spread over its lanes. */
export interface LaneSchedulerSettings {
  /** Lanes of the partition (1 without virtual partitions). */
  maxPartitions: number;
  /** `consistent`: the reducer's lane for the key, always; `balanced`: the next free lane for a key with nothing unfinished. */
  distribution: Distribution;
  /** The lane of a key under `consistent`. */
  reducer: Reducer;
}

/** The key of a message: a string, or undefined for "no order needed with any other message". */
export type MessageKey = string | undefined;

interface Slot<M> {
  message: M;
  key: MessageKey;
  /** Admission order. */
  seq: number;
  /** True while the slot waits in the shared pool (balanced). */
  pooled: boolean;
}

interface LaneState<M> {
  /** Admitted, not started, in admission order; entries before `head` are taken. */
  waiting: Slot<M>[];
  head: number;
  /** The run in progress, until {@link LaneScheduler.finish}. */
  running: Slot<M>[] | undefined;
}

/** Slots taken from the pool's head are dropped once this many have gathered (and they are half of it). */
const POOL_COMPACT_AT = 1024;

/**
 * Decides which lane of one partition runs which fetched messages, with no batch barrier: a lane
 * whose keys have no unfinished earlier message takes its next run while slower lanes still run.
 * Pure: no Kafka, no clock, no promises; the processor admits fetched messages, takes runs for
 * free lanes and reports each run finished once its messages are done (after any retry).
 *
 * A key stays on one lane while it has unfinished messages (waiting or running), and a lane runs
 * one run at a time, its messages in admission order: so a key's messages run in order and never
 * in two lanes at once. `consistent` always puts a key on the reducer's lane (keyless messages
 * round-robin). `balanced` puts a message whose key has unfinished messages on that key's lane;
 * the others (keyless ones too) wait in a shared pool, in admission order, and go to the least
 * loaded lane: the next lane that is free and has nothing of its own waiting takes its share of
 * the pool (the pool divided by the lane count, rounded up), and the keys it takes stay with it,
 * with their later messages, until they are finished.
 */
export class LaneScheduler<M> {
  readonly #settings: LaneSchedulerSettings;
  readonly #lanes: LaneState<M>[];
  /** Keys with unfinished messages: their lane and how many (balanced only). */
  readonly #keys = new Map<string, { lane: number; unfinished: number }>();
  /** Balanced: messages of keys without a lane, in admission order; slots before `#poolHead` are gone. */
  #pool: Slot<M>[] = [];
  #poolHead = 0;
  #pooled = 0;
  /** Balanced: the pooled slots of each key, in admission order. */
  readonly #pooledByKey = new Map<string, Slot<M>[]>();
  /** Lanes not running with messages waiting, in the order they became so. */
  readonly #ready = new Set<number>();
  #waiting = 0;
  #runningLanes = 0;
  #nextKeyless = 0;
  #admitted = 0;

  constructor(settings: LaneSchedulerSettings) {
    this.#settings = settings;
    this.#lanes = Array.from({ length: Math.max(1, settings.maxPartitions) }, () => ({ waiting: [], head: 0, running: undefined }));
  }

  /** Messages admitted and not started. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Lanes with a run in progress. */
  get runningLanes(): number {
    return this.#runningLanes;
  }

  /** True when nothing waits and no lane runs. */
  get idle(): boolean {
    return this.#waiting === 0 && this.#runningLanes === 0;
  }

  /**
   * Admits fetched messages, in offset order, and returns how many lanes they spread over: the
   * distinct lanes given (`consistent`), or at most one lane per key and per keyless message
   * (`balanced`, whose lanes are chosen when they start). All or nothing: a throwing `keyOf` or
   * reducer (or a reducer lane out of range) throws before anything is admitted.
   */
  admit(messages: readonly M[], keyOf: (message: M) => MessageKey): number {
    const keys = messages.map(keyOf);
    const balanced = this.#settings.distribution === 'balanced';
    const lanes = balanced ? [] : keys.map((key) => (key === undefined ? -1 : this.#reducerLane(key)));
    this.#waiting += messages.length;
    if (balanced) return this.#admitBalanced(messages, keys);
    const touched = new Set<number>();
    messages.forEach((message, index) => {
      const lane = this.#consistentLane(lanes[index]!);
      this.#queue(lane, { message, key: keys[index], seq: this.#admitted++, pooled: false });
      touched.add(lane);
    });
    return touched.size;
  }

  /** Lanes that may take a run now: not running, with messages of their own waiting or (balanced) a pool to take from. */
  startable(): number[] {
    if (this.#pooled === 0) return [...this.#ready];
    const free: number[] = [];
    this.#lanes.forEach((state, lane) => {
      if (!state.running) free.push(lane);
    });
    return free;
  }

  /**
   * Starts the next run of `lane`: its waiting messages, at most `max`, in admission order.
   * Undefined when the lane runs already or has nothing waiting.
   */
  take(lane: number, max: number): M[] | undefined {
    const state = this.#lanes[lane];
    if (!state || state.running) return undefined;
    let run: Slot<M>[];
    if (state.head < state.waiting.length) {
      const end = Math.min(state.waiting.length, state.head + Math.max(1, max));
      run = state.waiting.slice(state.head, end);
      state.head = end;
      if (state.head === state.waiting.length) {
        state.waiting = [];
        state.head = 0;
      }
    } else if (this.#pooled > 0) {
      run = this.#takeFromPool(lane, Math.max(1, max), Math.ceil(this.#pooled / this.#lanes.length));
    } else return undefined;
    // Admission order: a key's messages already are; across keys it keeps each run in offset order.
    run.sort((a, b) => a.seq - b.seq);
    state.running = run;
    this.#ready.delete(lane);
    this.#waiting -= run.length;
    this.#runningLanes += 1;
    return run.map((slot) => slot.message);
  }

  /** The run of `lane` is over: its messages are done (or given up), their keys may move on. */
  finish(lane: number): void {
    const state = this.#lanes[lane];
    const run = state?.running;
    if (!state || !run) throw new RangeError(`lane ${lane} has no run in progress`);
    state.running = undefined;
    this.#runningLanes -= 1;
    if (this.#settings.distribution === 'balanced') {
      for (const { key } of run) {
        if (key === undefined) continue;
        const bound = this.#keys.get(key)!;
        bound.unfinished -= 1;
        if (bound.unfinished === 0) this.#keys.delete(key);
      }
    }
    if (state.head < state.waiting.length) this.#ready.add(lane);
  }

  /** Forgets everything (the partition was taken away); runs in progress are not finished. */
  clear(): void {
    for (const state of this.#lanes) {
      state.waiting = [];
      state.head = 0;
      state.running = undefined;
    }
    this.#keys.clear();
    this.#pool = [];
    this.#poolHead = 0;
    this.#pooled = 0;
    this.#pooledByKey.clear();
    this.#ready.clear();
    this.#waiting = 0;
    this.#runningLanes = 0;
  }

  #reducerLane(key: string): number {
    const { maxPartitions, reducer } = this.#settings;
    return maxPartitions <= 1 ? 0 : reducerLane(key, maxPartitions, reducer);
  }

  /** The reducer's lane (computed up front), or the next lane round-robin for a keyless message. */
  #consistentLane(reducerLane: number): number {
    if (reducerLane >= 0) return reducerLane;
    const lane = this.#nextKeyless % this.#lanes.length;
    this.#nextKeyless = (this.#nextKeyless + 1) % this.#lanes.length;
    return lane;
  }

  #queue(lane: number, slot: Slot<M>): void {
    const state = this.#lanes[lane]!;
    state.waiting.push(slot);
    if (!state.running) this.#ready.add(lane);
  }

  /** A key with unfinished messages joins its lane; any other message joins the pool. */
  #admitBalanced(messages: readonly M[], keys: readonly MessageKey[]): number {
    const groups = new Set<string>();
    let keyless = 0;
    messages.forEach((message, index) => {
      const key = keys[index];
      const slot: Slot<M> = { message, key, seq: this.#admitted++, pooled: false };
      if (key === undefined) keyless += 1;
      else groups.add(key);
      const bound = key === undefined ? undefined : this.#keys.get(key);
      if (bound) {
        bound.unfinished += 1;
        this.#queue(bound.lane, slot);
        return;
      }
      slot.pooled = true;
      this.#pool.push(slot);
      this.#pooled += 1;
      if (key === undefined) return;
      const pooled = this.#pooledByKey.get(key);
      if (pooled) pooled.push(slot);
      else this.#pooledByKey.set(key, [slot]);
    });
    return Math.min(this.#lanes.length, groups.size + keyless);
  }

  /**
   * A run for `lane` from the pool's oldest messages, about `share` of them. A key taken is bound
   * to the lane with all its pooled messages: they join the run (up to `max`, in admission order)
   * or the lane's own queue, and count towards the share.
   */
  #takeFromPool(lane: number, max: number, share: number): Slot<M>[] {
    const run: Slot<M>[] = [];
    let taken = 0;
    while (taken < share && run.length < max && this.#poolHead < this.#pool.length) {
      const slot = this.#pool[this.#poolHead++]!;
      if (!slot.pooled) continue;
      slot.pooled = false;
      this.#pooled -= 1;
      taken += 1;
      run.push(slot);
      if (slot.key === undefined) continue;
      const bound = { lane, unfinished: 1 };
      this.#keys.set(slot.key, bound);
      for (const later of this.#pooledByKey.get(slot.key)!) {
        if (later === slot || !later.pooled) continue;
        later.pooled = false;
        this.#pooled -= 1;
        taken += 1;
        bound.unfinished += 1;
        if (run.length < max) run.push(later);
        else this.#queue(lane, later);
      }
      this.#pooledByKey.delete(slot.key);
    }
    if (this.#poolHead === this.#pool.length) {
      this.#pool = [];
      this.#poolHead = 0;
    } else if (this.#poolHead > POOL_COMPACT_AT && this.#poolHead * 2 > this.#pool.length) {
      this.#pool = this.#pool.slice(this.#poolHead);
      this.#poolHead = 0;
    }
    return run;
  }
}
