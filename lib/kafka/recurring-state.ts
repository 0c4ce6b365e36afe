import type { OutboundMessage } from './outbound-message.ts';
import { readCommittedRecords } from './committed-reader.ts';
import type { KafkaClient as Kafka } from './kafkajs.ts';
import type { RawRecord } from './records.ts';

/**
 * The state topic of an app's recurring jobs: one partition, compacted, keyed by schedule name.
 * Only the member of the `<group>.recurring` consumer group that owns its partition writes it,
 * in the same transaction as the jobs it enqueues.
 */
export function recurringStateTopic(groupId: string): string {
  return `partita.recurring.${groupId}`;
}

/** The consumer group whose members compete for the ticker of the app `groupId`. */
export function recurringOwnerGroup(groupId: string): string {
  return `${groupId}.recurring`;
}

/** Topic settings of a state topic: compaction keeps the newest record of each schedule. */
export const RECURRING_STATE_TOPIC_CONFIG = { partitions: 1, configEntries: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' } } as const;

/** One schedule's state record (the value is this, as JSON). Times are ISO 8601. */
export interface RecurringState {
  /** The schedule's name (also the record's key). */
  schedule: string;
  /** The cron expression the ticks were planned with. */
  cron: string;
  /** The time zone of `cron`. */
  timezone: string;
  /** The job class enqueued at each tick. */
  jobClass: string;
  /** The topic the jobs go to. */
  topic: string;
  /** The missed-tick policy. */
  missed: string;
  /** Ticks due for at most this long are caught up one by one. */
  catchUpWindowMs: number;
  /** Every tick up to this instant is handled (enqueued or skipped); at first sight, the time the schedule was first seen. */
  lastTick: string;
  /** The newest tick whose job was enqueued, if any. */
  lastEnqueuedTick: string | null;
  /** When the record was written. */
  updatedAt: string;
  /** The process that wrote it (`host/pid`). */
  owner: string;
}

/** The state record of a schedule, to produce to the state topic (partition 0). */
export function encodeRecurringState(topic: string, state: RecurringState): OutboundMessage {
  return { topic, partition: 0, key: state.schedule, value: JSON.stringify(state), headers: { 'content-type': 'application/json' } };
}

/** The tombstone that removes a schedule no longer declared from the state topic. */
export function recurringStateTombstone(topic: string, schedule: string): OutboundMessage {
  return { topic, partition: 0, key: schedule, value: null, headers: {} };
}

/**
 * The newest committed state of every schedule in the state topic, by name (tombstones remove a
 * schedule; records that are not state records are left out).
 */
export async function readRecurringStates(kafka: Kafka, topic: string): Promise<Map<string, RecurringState>> {
  const states = new Map<string, RecurringState>();
  for (const record of await readCommittedRecords(kafka, topic)) {
    const name = record.key?.toString('utf8');
    if (name === undefined) continue;
    const state = decodeRecurringState(record);
    if (state === undefined) states.delete(name);
    else states.set(name, state);
  }
  return states;
}

function decodeRecurringState(record: RawRecord): RecurringState | undefined {
  if (record.value === null) return undefined;
  try {
    const value = JSON.parse(record.value.toString('utf8')) as Partial<RecurringState>;
    const valid = typeof value.schedule === 'string' && typeof value.cron === 'string' && typeof value.lastTick === 'string' && !Number.isNaN(Date.parse(value.lastTick));
    return valid ? (value as RecurringState) : undefined;
  } catch {
    return undefined;
  }
}
