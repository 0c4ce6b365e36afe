/**
 * The done-map: which offsets above a committed offset are already finished, carried in the
 * commit's metadata beside the user's own metadata, so that a partition's next owner skips them
 * (crash-exact resume under virtual partitions). Pure.
 *
 * A framed commit metadata string is
 *
 * ```
 * ~pd1:                               prefix and format version
 * <offset base 36><form><digits>      the done-map (absent when it is empty)
 * |<user metadata>                    the user's own metadata (absent when it is null)
 * ```
 *
 * `offset` is the committed offset the done-map belongs to (a done-map read with another
 * committed offset, e.g. after an offset reset, is ignored). `form` is `R` (run lengths: the gap
 * before each run of finished offsets and the run's length, as variable-length numbers) or `B`
 * (a bitmap of the offsets after `offset`); `digits` are base64url characters, six bits each.
 * Whichever form is shorter is written.
 *
 * A string that is not a valid frame is the user's metadata alone: that is what versions without
 * the done-map committed, and what this one writes when there is no done-map and the user's
 * metadata is not itself a valid frame.
 */

import type { OffsetAndMetadata } from '../kafka/records.ts';

/** The broker keeps at most this many bytes of offset metadata (`offset.metadata.max.bytes`). */
export const MAX_OFFSET_METADATA_BYTES = 4096;

/** What one commit carries besides its offset, as the framework sees it. */
export interface CommitContent extends OffsetAndMetadata {
  /** Finished offsets above `offset`, ascending, without repeats. */
  finished: readonly number[];
}

/** Commit metadata to send, and how many finished offsets its done-map carries. */
export interface EncodedCommit {
  metadata: string | null;
  /** Finished offsets the done-map carries: all of them, or fewer when they did not all fit. */
  finished: number;
}

/** A commit's metadata read back: the user's part and the finished offsets above the offset. */
export interface ResumePoint {
  metadata: string | null;
  finished: number[];
}

const PREFIX = '~pd1:';
const USER_SEPARATOR = '|';
const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const DIGIT_VALUE = new Map([...DIGITS].map((digit, value) => [digit, value]));
/** A run-length number: five value bits a digit, the sixth says another digit follows. */
const MORE = 32;
/**
 * Most finished offsets one done-map holds. The tracker never holds that many (a partition runs one
 * batch at a time), so only a string that merely looks like a frame can reach it: it is then read
 * as the user's metadata, not expanded.
 */
const MAX_FINISHED = 1_000_000;
const FRAME = /^~pd1:(?:([0-9a-z]+)([RB])([A-Za-z0-9_-]+))?(?:\|([\s\S]*))?$/;

/**
 * The commit metadata for `content`, at most `limitBytes` long. The user's metadata always goes
 * in whole (its size is checked when it is given, see {@link userMetadataBytes}); the done-map
 * takes the room left. When the whole done-map does not fit, the longest prefix of it that fits
 * is written (the finished offsets up to some point; the rest run again on the next owner), and
 * when not even one run fits, no done-map at all.
 */
export function encodeCommitMetadata(content: CommitContent, limitBytes = MAX_OFFSET_METADATA_BYTES): EncodedCommit {
  const { offset, metadata, finished } = content;
  const userPart = metadata === null ? '' : USER_SEPARATOR + metadata;
  const base = offset.toString(36);
  const room = limitBytes - PREFIX.length - Buffer.byteLength(userPart) - base.length - 1;
  const doneMap = room > 0 ? encodeDoneMap(offset, finished, room) : { text: '', covered: 0 };
  if (doneMap.covered === 0) return { metadata: metadata === null || !isFrame(metadata) ? metadata : PREFIX + userPart, finished: 0 };
  return { metadata: PREFIX + base + doneMap.text + userPart, finished: doneMap.covered };
}

/**
 * Reads commit metadata committed with `offset`: the user's metadata, and the finished offsets
 * above `offset` that the committing owner knew of. Plain strings are the user's metadata alone.
 */
export function decodeCommitMetadata(raw: string | null, offset: number): ResumePoint {
  const frame = raw === null ? undefined : parseFrame(raw);
  if (!frame) return { metadata: raw, finished: [] };
  return { metadata: frame.metadata, finished: frame.base === offset ? frame.finished : [] };
}

/**
 * How many bytes of the broker's {@link MAX_OFFSET_METADATA_BYTES} the user's metadata takes in a
 * commit: its own size, plus the frame's prefix and separator when the string is itself a valid
 * frame (it must then be framed to be read back as it was given).
 */
export function userMetadataBytes(metadata: string): number {
  const bytes = Buffer.byteLength(metadata);
  return isFrame(metadata) ? PREFIX.length + USER_SEPARATOR.length + bytes : bytes;
}

function isFrame(text: string): boolean {
  return text.startsWith(PREFIX) && parseFrame(text) !== undefined;
}

function parseFrame(raw: string): { base: number | undefined; finished: number[]; metadata: string | null } | undefined {
  const match = FRAME.exec(raw);
  if (!match) return undefined;
  const [, baseText, form, digits, metadata] = match;
  const parsed = baseText === undefined ? { base: undefined, finished: [] } : parseDoneMap(baseText, form!, digits!);
  if (!parsed) return undefined;
  return { ...parsed, metadata: metadata ?? null };
}

function parseDoneMap(baseText: string, form: string, digits: string): { base: number; finished: number[] } | undefined {
  const base = parseInt(baseText, 36);
  if (!Number.isSafeInteger(base)) return undefined;
  const values = [...digits].map((digit) => DIGIT_VALUE.get(digit)!);
  const finished = form === 'R' ? decodeRuns(base, values) : decodeBitmap(base, values);
  if (!finished || finished.length === 0 || !Number.isSafeInteger(finished[finished.length - 1])) return undefined;
  return { base, finished };
}

/** The done-map's form and digits in at most `room` characters, and how many offsets they cover. */
function encodeDoneMap(offset: number, finished: readonly number[], room: number): { text: string; covered: number } {
  const above = finished.filter((done) => done > offset);
  if (above.length === 0) return { text: '', covered: 0 };
  const runs = encodeRuns(offset, above, room - 1);
  const bitmap = encodeBitmap(offset, above, room - 1);
  const best = runs.covered > bitmap.covered || (runs.covered === bitmap.covered && runs.digits.length <= bitmap.digits.length) ? { form: 'R', ...runs } : { form: 'B', ...bitmap };
  return best.covered === 0 ? { text: '', covered: 0 } : { text: best.form + best.digits, covered: best.covered };
}

/** Runs of consecutive offsets after `offset`: per run, the gap before it and its length - 1. */
function encodeRuns(offset: number, finished: readonly number[], room: number): { digits: string; covered: number } {
  let digits = '';
  let covered = 0;
  let next = offset + 1;
  for (let start = 0; start < finished.length; ) {
    let end = start;
    while (end + 1 < finished.length && finished[end + 1] === finished[end]! + 1) end += 1;
    const run = numberDigits(finished[start]! - next) + numberDigits(end - start);
    if (digits.length + run.length > room || covered + end - start + 1 > MAX_FINISHED) break;
    digits += run;
    covered += end - start + 1;
    // The offset after a run is not finished (runs are maximal): the next gap starts after it.
    next = finished[end]! + 2;
    start = end + 1;
  }
  return { digits, covered };
}

function decodeRuns(offset: number, values: number[]): number[] | undefined {
  const numbers: number[] = [];
  let value = 0;
  let scale = 1;
  for (const digit of values) {
    value += (digit % MORE) * scale;
    if (digit >= MORE) {
      scale *= MORE;
      continue;
    }
    numbers.push(value);
    value = 0;
    scale = 1;
  }
  if (scale !== 1 || numbers.length % 2 !== 0) return undefined;
  const finished: number[] = [];
  let next = offset + 1;
  for (let i = 0; i < numbers.length; i += 2) {
    const start = next + numbers[i]!;
    const length = numbers[i + 1]! + 1;
    if (!Number.isSafeInteger(start + length) || finished.length + length > MAX_FINISHED) return undefined;
    for (let done = start; done < start + length; done += 1) finished.push(done);
    next = start + length + 1;
  }
  return finished;
}

/** Bit i of the bitmap (bit i % 6 of digit i / 6) stands for offset `offset + 1 + i`. */
function encodeBitmap(offset: number, finished: readonly number[], room: number): { digits: string; covered: number } {
  const reach = offset + room * 6;
  const within = finished.filter((done) => done <= reach);
  if (within.length === 0) return { digits: '', covered: 0 };
  const values = new Array<number>(Math.ceil((within[within.length - 1]! - offset) / 6)).fill(0);
  for (const done of within) {
    const bit = done - offset - 1;
    values[Math.floor(bit / 6)]! |= 1 << bit % 6;
  }
  return { digits: values.map((value) => DIGITS[value]).join(''), covered: within.length };
}

function decodeBitmap(offset: number, values: number[]): number[] {
  const finished: number[] = [];
  values.forEach((value, index) => {
    for (let bit = 0; bit < 6; bit += 1) if (value & (1 << bit)) finished.push(offset + 1 + index * 6 + bit);
  });
  return finished;
}

function numberDigits(value: number): string {
  let digits = '';
  let rest = value;
  while (rest >= MORE) {
    digits += DIGITS[(rest % MORE) + MORE];
    rest = Math.floor(rest / MORE);
  }
  return digits + DIGITS[rest];
}
