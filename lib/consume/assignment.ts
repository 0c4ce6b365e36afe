import type { Assignment } from '../kafka/records.ts';

/** A topic-partition as a map key. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** What changed between two assignments. */
export interface AssignmentChange {
  assigned: { topic: string; partition: number }[];
  revoked: { topic: string; partition: number }[];
  kept: { topic: string; partition: number }[];
}

/** Diffs two assignments (kafkajs tells only the new one after each join). */
export function diffAssignments(previous: Assignment, next: Assignment): AssignmentChange {
  const flatten = (assignment: Assignment) => {
    const result = new Map<string, { topic: string; partition: number }>();
    for (const [topic, partitions] of assignment) {
      for (const partition of partitions) result.set(partitionKey(topic, partition), { topic, partition });
    }
    return result;
  };
  const before = flatten(previous);
  const after = flatten(next);
  const change: AssignmentChange = { assigned: [], revoked: [], kept: [] };
  for (const [key, tp] of after) (before.has(key) ? change.kept : change.assigned).push(tp);
  for (const [key, tp] of before) if (!after.has(key)) change.revoked.push(tp);
  return change;
}
