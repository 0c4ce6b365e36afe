/**
 * Splitting one partition's batch into virtual-partition lanes. Pure: no Kafka, no clock.
 */

import type { Reducer, VirtualPartitionsSettings } from '../routing/route.ts';

/** How keys are spread over lanes. */
export type Distribution = VirtualPartitionsSettings['distribution'];

/** What the split needs. */
export interface LaneSplitSettings<M> {
  maxPartitions: number;
  distribution: Distribution;
  reducer: Reducer;
  /** The key of a message; undefined or null means "no order needed with any other message". */
  keyOf: (message: M) => string | number | null | undefined;
}

/** Lanes of a batch: `lanes[i]` holds the messages of lane `laneIds[i]`, in batch order. */
export interface LaneSplit<M> {
  laneIds: number[];
  lanes: M[][];
  /** Set when `keyOf` threw: the whole batch is then one lane. */
  error?: unknown;
}

/** 32-bit FNV-1a: stable across processes and versions, and well spread for short keys. */
export function fnv1a(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The default reducer: FNV-1a of the key modulo the lane count. */
export const defaultReducer: Reducer = (key, maxPartitions) => fnv1a(key) % maxPartitions;

/**
 * Splits messages into lanes. A key never spans two lanes within a batch, and each lane keeps the
 * batch order. Keyless messages are spread one by one (they promise no order among themselves).
 * A throwing `keyOf` or reducer yields one lane with the error attached.
 */
export function splitIntoLanes<M>(messages: readonly M[], settings: LaneSplitSettings<M>): LaneSplit<M> {
  if (messages.length === 0) return { laneIds: [], lanes: [] };
  const { maxPartitions } = settings;
  if (maxPartitions <= 1) return { laneIds: [0], lanes: [messages.slice()] };
  try {
    return settings.distribution === 'balanced' ? splitBalanced(messages, settings) : splitConsistent(messages, settings);
  } catch (error) {
    return { laneIds: [0], lanes: [messages.slice()], error };
  }
}

function splitConsistent<M>(messages: readonly M[], settings: LaneSplitSettings<M>): LaneSplit<M> {
  const byLane = new Map<number, M[]>();
  let keyless = 0;
  for (const message of messages) {
    const key = settings.keyOf(message);
    const lane = key === undefined || key === null ? keyless++ % settings.maxPartitions : reducerLane(String(key), settings.maxPartitions, settings.reducer);
    const list = byLane.get(lane);
    if (list) list.push(message);
    else byLane.set(lane, [message]);
  }
  const laneIds = [...byLane.keys()].sort((a, b) => a - b);
  return { laneIds, lanes: laneIds.map((id) => byLane.get(id)!) };
}

/**
 * The lane the reducer gives `key`; a RangeError naming the key when it is not an integer in
 * [0, maxPartitions).
 */
export function reducerLane(key: string, maxPartitions: number, reducer: Reducer): number {
  const lane = reducer(key, maxPartitions);
  if (!Number.isInteger(lane) || lane < 0 || lane >= maxPartitions) {
    throw new RangeError(`the reducer returned ${String(lane)} for key ${JSON.stringify(key)}; expected an integer in [0, ${maxPartitions})`);
  }
  return lane;
}

/** Groups by key, then gives the largest groups first to the least-loaded lane. */
function splitBalanced<M>(messages: readonly M[], settings: LaneSplitSettings<M>): LaneSplit<M> {
  const groups = new Map<string | symbol, { first: number; messages: M[] }>();
  messages.forEach((message, index) => {
    const key = settings.keyOf(message);
    const id: string | symbol = key === undefined || key === null ? Symbol('keyless') : String(key);
    const group = groups.get(id);
    if (group) group.messages.push(message);
    else groups.set(id, { first: index, messages: [message] });
  });
  const ordered = [...groups.values()].sort((a, b) => b.messages.length - a.messages.length || a.first - b.first);
  const laneCount = Math.min(settings.maxPartitions, ordered.length);
  const loads = new Array<number>(laneCount).fill(0);
  const members: { first: number; messages: M[] }[][] = Array.from({ length: laneCount }, () => []);
  for (const group of ordered) {
    let lightest = 0;
    for (let lane = 1; lane < laneCount; lane += 1) if (loads[lane]! < loads[lightest]!) lightest = lane;
    loads[lightest]! += group.messages.length;
    members[lightest]!.push(group);
  }
  // Within a lane, restore batch order across its groups.
  const position = new Map<M, number>();
  messages.forEach((message, index) => position.set(message, index));
  const lanes = members.map((lane) => lane.flatMap((group) => group.messages).sort((a, b) => position.get(a)! - position.get(b)!));
  return { laneIds: lanes.map((_, index) => index), lanes };
}
