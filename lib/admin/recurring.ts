import { createKafka, type KafkaConnection } from '../kafka/client.ts';
import { readRecurringStates, recurringStateTopic } from '../kafka/recurring-state.ts';
import { partitionCounts, withAdmin } from '../kafka/admin.ts';
import type { Logger } from '../logging/logger.ts';
import { defaultLogger } from '../logging/logger.ts';
import { CronSchedule } from '../schedule/cron.ts';

/** One recurring job as the ticker last recorded it. */
export interface RecurringScheduleStatus {
  /** The schedule's name (`r.recurring(name, ...)`). */
  name: string;
  /** Its cron expression. */
  cron: string;
  /** The IANA time zone the expression is read in. */
  timezone: string;
  /** The job class enqueued at each tick. */
  jobClass: string;
  /** The topic the jobs go to. */
  topic: string;
  /** The missed-tick policy (`'run-once'` or `'skip'`). */
  missed: string;
  /** Ticks due for at most this long are caught up one by one after a takeover. */
  catchUpWindowMs: number;
  /** Every tick up to this instant is handled (enqueued or skipped). */
  lastTick: Date;
  /** The newest tick whose job was enqueued; undefined before the first. */
  lastEnqueuedTick: Date | undefined;
  /** The next tick the ticker will enqueue (after `lastTick`); undefined when the expression has no later time. */
  nextRun: Date | undefined;
  /** When the ticker last wrote this schedule's state. */
  updatedAt: Date;
  /** The process (`host/pid`) that wrote it. */
  owner: string;
}

/** Where to read the recurring jobs of one app. */
export interface RecurringQuery {
  /** How to reach Kafka. */
  kafka: KafkaConnection;
  /** The app's consumer group (`createApp({ groupId })`, by default its client id). */
  groupId: string;
  /** Where kafkajs's lines go. @defaultValue the process's logger */
  logger?: Logger;
}

/**
 * The recurring jobs of an app, read from its state topic (`partita.recurring.<group>`,
 * read_committed, nothing committed), sorted by name: each with its cron, time zone, last tick and
 * next run. An app that never ran a recurring job has none. For tools (`partita status`, the web).
 */
export async function listRecurringSchedules(query: RecurringQuery): Promise<RecurringScheduleStatus[]> {
  const kafka = createKafka(query.kafka, 'listRecurringSchedules.kafka', query.logger ?? defaultLogger());
  const topic = recurringStateTopic(query.groupId);
  const exists = await withAdmin(kafka, async (admin) => (await partitionCounts(admin, [topic])).has(topic));
  if (!exists) return [];
  const states = await readRecurringStates(kafka, topic);
  return [...states.values()]
    .map((state) => {
      const lastTick = new Date(state.lastTick);
      let nextRun: Date | undefined;
      try {
        const next = new CronSchedule(`recurring.${state.schedule}`, state.cron, state.timezone).next(lastTick.getTime());
        nextRun = next === undefined ? undefined : new Date(next);
      } catch {
        nextRun = undefined;
      }
      return {
        name: state.schedule,
        cron: state.cron,
        timezone: state.timezone,
        jobClass: state.jobClass,
        topic: state.topic,
        missed: state.missed,
        catchUpWindowMs: state.catchUpWindowMs,
        lastTick,
        lastEnqueuedTick: state.lastEnqueuedTick === null ? undefined : new Date(state.lastEnqueuedTick),
        nextRun,
        updatedAt: new Date(state.updatedAt),
        owner: state.owner,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
