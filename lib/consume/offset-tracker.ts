import type { OffsetAndMetadata } from '../kafka/records.ts';
/**
 * Which offsets of one partition are done, and how far the partition may be committed. Pure.
 *
 * Offsets are tracked in the order they were delivered (gaps from compaction or transaction
 * markers are fine). Each tracked offset belongs to a lane; marking an offset marks it and every
 * earlier offset of the same lane. The materialized position is the offset after the unbroken
 * run of marked offsets from the oldest tracked one: the only position that may be committed.
 *
 * A partition resumed from a commit that carried a done-map ({@link resume}) also knows offsets a
 * previous owner finished above the committed one: they are never tracked (the processor skips
 * them), count as marked, and the position moves over them. Marked offsets above the position
 * (tracked or inherited) are what the next commit's done-map carries ({@link finished}).
 */

/** How commit metadata is chosen when lanes mark with metadata. */
export type OffsetMetadataStrategy = 'exact' | 'current';

interface Entry {
  offset: number;
  lane: Lane;
  indexInLane: number;
  /** Metadata given by the mark that covered this entry. */
  metadata: string | null;
}

interface Lane {
  entries: Entry[];
  /** Index of the last marked entry, -1 when none. */
  markedUpTo: number;
}

export class OffsetTracker {
  readonly #strategy: OffsetMetadataStrategy;
  /** Tracked, not yet materialized, in delivery order. */
  #pending: Entry[] = [];
  #head = 0;
  #position: OffsetAndMetadata | undefined;
  #latestMetadata: string | null = null;
  /** The committed position this partition was resumed from, if any. */
  #start: OffsetAndMetadata | undefined;
  /** Offsets a previous owner finished above {@link #start}, ascending; those before the head are behind the position. */
  #inherited: number[] = [];
  #inheritedHead = 0;
  readonly #inheritedSet = new Set<number>();
  /** Tracked entries marked but not materialized. */
  #markedAhead = 0;

  constructor(strategy: OffsetMetadataStrategy = 'exact') {
    this.#strategy = strategy;
  }

  /**
   * Resumes from a committed position and the offsets its done-map lists as finished above it.
   * Call before anything is tracked; the finished offsets must then never be tracked.
   */
  resume(position: OffsetAndMetadata, finished: readonly number[]): void {
    if (this.#pending.length > 0) throw new RangeError('resume() must come before the first track()');
    this.#start = position;
    this.#inherited = finished.filter((offset) => offset > position.offset);
    this.#inheritedHead = 0;
    for (const offset of this.#inherited) this.#inheritedSet.add(offset);
  }

  /**
   * Tracks a new batch split into lanes. Offsets must be above everything tracked so far; each
   * lane's offsets ascending.
   */
  track(lanes: readonly (readonly number[])[]): void {
    const added: Entry[] = [];
    for (const offsets of lanes) {
      const lane: Lane = { entries: [], markedUpTo: -1 };
      for (const offset of offsets) {
        const entry: Entry = { offset, lane, indexInLane: lane.entries.length, metadata: null };
        lane.entries.push(entry);
        added.push(entry);
      }
    }
    added.sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < added.length; i += 1) {
      if (added[i]!.offset === added[i - 1]!.offset) throw new RangeError(`offset ${added[i]!.offset} is already tracked`);
    }
    const last = this.#pending[this.#pending.length - 1];
    if (last && added.length > 0 && added[0]!.offset <= last.offset) {
      if (this.#entryOf(added[0]!.offset)) throw new RangeError(`offset ${added[0]!.offset} is already tracked`);
      throw new RangeError(`offset ${added[0]!.offset} is not after the tracked offset ${last.offset}`);
    }
    for (const entry of added) this.#pending.push(entry);
  }

  /**
   * Regroups still-unmarked tracked offsets into new lanes (a collapsed retry runs them as one).
   * Offsets not given keep their current lane.
   */
  relane(lanes: readonly (readonly number[])[]): void {
    for (const offsets of lanes) {
      const lane: Lane = { entries: [], markedUpTo: -1 };
      for (const offset of offsets) {
        const entry = this.#entryOf(offset);
        if (!entry) throw new RangeError(`offset ${offset} is not tracked`);
        if (this.isMarked(offset)) throw new RangeError(`offset ${offset} is already marked`);
        entry.lane = lane;
        entry.indexInLane = lane.entries.length;
        lane.entries.push(entry);
      }
    }
  }

  /** True when the offset is tracked and marked, already materialized, or finished by a previous owner. */
  isMarked(offset: number): boolean {
    const entry = this.#entryOf(offset);
    if (!entry) return (this.#position !== undefined && offset < this.#position.offset) || this.#inheritedSet.has(offset);
    return entry.indexInLane <= entry.lane.markedUpTo;
  }

  /**
   * Marks an offset and the earlier ones of its lane as done. Returns false for an offset that is
   * not tracked (never delivered, or already materialized).
   */
  mark(offset: number, metadata: string | null = null): boolean {
    const entry = this.#entryOf(offset);
    if (!entry) return false;
    const lane = entry.lane;
    for (let i = lane.markedUpTo + 1; i <= entry.indexInLane; i += 1) lane.entries[i]!.metadata = metadata;
    if (entry.indexInLane > lane.markedUpTo) {
      this.#markedAhead += entry.indexInLane - lane.markedUpTo;
      lane.markedUpTo = entry.indexInLane;
    } else entry.metadata = metadata;
    if (metadata !== null) this.#latestMetadata = metadata;
    this.#advance();
    return true;
  }

  /** The committable position, or undefined when nothing was materialized yet. */
  materialized(): OffsetAndMetadata | undefined {
    if (!this.#position) return undefined;
    return this.#strategy === 'current' && this.#latestMetadata !== null
      ? { offset: this.#position.offset, metadata: this.#latestMetadata }
      : this.#position;
  }

  /**
   * What a commit should carry: the materialized position or, on a resumed partition where
   * nothing materialized yet, the position it resumed from (its done-map may have grown). Undefined
   * when there is nothing to commit: a partition never committed commits nothing before its first
   * materialized offset.
   */
  commitPoint(): OffsetAndMetadata | undefined {
    const materialized = this.materialized();
    if (materialized || !this.#start) return materialized;
    return this.#strategy === 'current' && this.#latestMetadata !== null ? { offset: this.#start.offset, metadata: this.#latestMetadata } : this.#start;
  }

  /** How many offsets above the commit point are finished (grows with every mark that does not materialize). */
  get finishedCount(): number {
    return this.#markedAhead + this.#inherited.length - this.#inheritedHead;
  }

  /** The finished offsets above the commit point, ascending: marked ones and those a previous owner finished. */
  finished(): number[] {
    const marked: number[] = [];
    for (let i = this.#head; i < this.#pending.length; i += 1) {
      const entry = this.#pending[i]!;
      if (entry.indexInLane <= entry.lane.markedUpTo) marked.push(entry.offset);
    }
    if (this.#inheritedHead === this.#inherited.length) return marked;
    const result: number[] = [];
    let m = 0;
    for (let i = this.#inheritedHead; i < this.#inherited.length; i += 1) {
      const inherited = this.#inherited[i]!;
      while (m < marked.length && marked[m]! < inherited) result.push(marked[m++]!);
      result.push(inherited);
    }
    while (m < marked.length) result.push(marked[m++]!);
    return result;
  }

  /**
   * The committable position these marks would give, without applying them (a transaction needs
   * the position before it commits, and its marks count only once it has).
   */
  preview(marks: readonly OffsetAndMetadata[]): OffsetAndMetadata | undefined {
    const markedUpTo = new Map<Lane, number>();
    const metadataOf = new Map<Entry, string | null>();
    let latest = this.#latestMetadata;
    for (const { offset, metadata } of marks) {
      const entry = this.#entryOf(offset);
      if (!entry) continue;
      const lane = entry.lane;
      const upTo = markedUpTo.get(lane) ?? lane.markedUpTo;
      for (let i = upTo + 1; i <= entry.indexInLane; i += 1) metadataOf.set(lane.entries[i]!, metadata);
      if (entry.indexInLane > upTo) markedUpTo.set(lane, entry.indexInLane);
      else metadataOf.set(entry, metadata);
      if (metadata !== null) latest = metadata;
    }
    let position = this.#position;
    for (let i = this.#head; i < this.#pending.length; i += 1) {
      const entry = this.#pending[i]!;
      if (entry.indexInLane > (markedUpTo.get(entry.lane) ?? entry.lane.markedUpTo)) break;
      position = { offset: entry.offset + 1, metadata: metadataOf.has(entry) ? metadataOf.get(entry)! : entry.metadata };
    }
    if (!position) return undefined;
    return this.#strategy === 'current' && latest !== null ? { offset: position.offset, metadata: latest } : position;
  }

  /** Tracked offsets not yet materialized (marked or not): what the tracker holds. */
  get pending(): number {
    return this.#pending.length - this.#head;
  }

  /** How many tracked offsets are not yet marked. */
  get unmarkedCount(): number {
    return this.pending - this.#markedAhead;
  }

  /** Tracked offsets not yet marked, in offset order. */
  unmarked(): number[] {
    const result: number[] = [];
    for (let i = this.#head; i < this.#pending.length; i += 1) {
      const entry = this.#pending[i]!;
      if (entry.indexInLane > entry.lane.markedUpTo) result.push(entry.offset);
    }
    return result;
  }

  /**
   * The tracked entry of an offset not yet materialized: a binary search of the pending entries,
   * which are in offset order (no map to fill and empty on every offset).
   */
  #entryOf(offset: number): Entry | undefined {
    let low = this.#head;
    let high = this.#pending.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const entry = this.#pending[middle]!;
      if (entry.offset === offset) return entry;
      if (entry.offset < offset) low = middle + 1;
      else high = middle - 1;
    }
    return undefined;
  }

  #advance(): void {
    let last: Entry | undefined;
    while (this.#head < this.#pending.length) {
      const entry = this.#pending[this.#head]!;
      if (entry.indexInLane > entry.lane.markedUpTo) break;
      last = entry;
      this.#head += 1;
      this.#markedAhead -= 1;
    }
    const moved = last !== undefined;
    // One position for the whole run materialized by this mark.
    if (last) this.#position = { offset: last.offset + 1, metadata: last.metadata };
    if (moved) this.#passInherited();
    if (moved && this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Moves the position over inherited finished offsets right after it, and forgets those behind it. */
  #passInherited(): void {
    let position = this.#position!;
    while (this.#inheritedHead < this.#inherited.length && this.#inherited[this.#inheritedHead]! <= position.offset) {
      const offset = this.#inherited[this.#inheritedHead]!;
      if (offset === position.offset) position = { offset: offset + 1, metadata: position.metadata };
      this.#inheritedSet.delete(offset);
      this.#inheritedHead += 1;
    }
    this.#position = position;
  }
}
