import { DELAY_TIERS, delayTopic } from '../schedule/tiers.ts';
import { routeDefinition, RouteBuilder, type BackoffSettings, type RouteDefinition } from './route.ts';

/** Retention of the delay topics: a worker may be down this long without losing scheduled jobs. */
const DELAY_RETENTION_MS = 7 * 24 * 3_600_000;

/** A job topic that gets delay tiers, with the partition count its tiers are created with. */
export interface DelayedJobTopic {
  topic: string;
  partitions: number;
  backoff: Partial<BackoffSettings>;
}

/**
 * The routes of the delay tiers of job topics: one route of kind `delay` per tier topic, which the
 * worker consumes with its delay consumer, with manual offsets (a message is marked once
 * forwarded), created when missing with the job topic's partition count and a retention of 7 days.
 */
export function delayRoutes(jobTopics: readonly DelayedJobTopic[]): RouteDefinition[] {
  return jobTopics.flatMap(({ topic, partitions, backoff }) =>
    DELAY_TIERS.map((tier) => {
      const route = routeDefinition(delayTopic(topic, tier), 'delay', undefined);
      new RouteBuilder(route)
        .manualOffsetManagement()
        .backoff(backoff)
        .config({ partitions, configEntries: { 'retention.ms': String(DELAY_RETENTION_MS) } });
      return route;
    }),
  );
}
