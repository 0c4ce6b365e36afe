import { RouteValidationError } from '../errors.ts';
import { parseDelayTopic } from '../schedule/tiers.ts';
import type { PatternDefinition, RouteDefinition } from './route.ts';

/** A topic a pattern picked up, with the route it gets. */
export interface DiscoveredTopic {
  pattern: string;
  route: RouteDefinition;
}

/** Every dead-letter topic the app's routes and patterns write to. */
export function deadLetterTopics(routes: readonly RouteDefinition[], patterns: readonly PatternDefinition[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const route of [...routes, ...patterns.map((p) => p.template)]) {
    const topic = route.deadLetterQueue?.topic;
    if (typeof topic === 'string') owners.set(topic, route.topic);
  }
  return owners;
}

/**
 * Refuses a pattern that matches a dead-letter topic of the app: it would consume the failures it
 * dead-letters, in a loop. `allowDeadLetterTopics()` allows it knowingly.
 */
export function validatePatterns(routes: readonly RouteDefinition[], patterns: readonly PatternDefinition[]): void {
  for (const [topic, owner] of deadLetterTopics(routes, patterns)) {
    for (const pattern of patterns) {
      if (pattern.allowDeadLetterTopics || !pattern.regex.test(topic)) continue;
      throw new RouteValidationError(
        `The pattern "${pattern.name}" (${pattern.regex}) matches the dead-letter topic "${topic}" of route "${owner}": ` +
          'it would consume the failures it dead-letters, in a loop. Change the pattern, rename the dead-letter topic, ' +
          'or call allowDeadLetterTopics() on the pattern to consume it knowingly.',
      );
    }
  }
}

/**
 * The routes patterns give to `topics`. A topic with an explicit route, an internal topic, and a
 * pattern's own dead-letter topic are never picked up; the first pattern that matches wins.
 */
export function discoverTopics(topics: readonly string[], routes: readonly RouteDefinition[], patterns: readonly PatternDefinition[]): DiscoveredTopic[] {
  const explicit = new Set(routes.map((route) => route.topic));
  const discovered: DiscoveredTopic[] = [];
  for (const topic of [...topics].sort()) {
    if (explicit.has(topic) || topic.startsWith('__') || parseDelayTopic(topic) !== undefined) continue;
    const pattern = patterns.find((p) => p.regex.test(topic) && p.template.deadLetterQueue?.topic !== topic);
    if (pattern) discovered.push({ pattern: pattern.name, route: { ...pattern.template, topic } });
  }
  return discovered;
}
