import type { PartitionRef, WorkerEmitter } from './worker-events.ts';
import { describeCoordinates, BadMessageError, ConsumerRestartError, errorClassName } from '../errors.ts';
import { parseDelayTopic } from '../schedule/tiers.ts';
import type { Logger } from '../logging/logger.ts';

/**
 * Writes a worker's events to `logger`, so that a worker with no listeners of its own still tells
 * what it does. At `info`: start, stop and its progress, rebalances, discovered topics, discarded
 * jobs and retries sent to the delay tiers. At `warn`: backoffs (each retry after a failure, run
 * collapsed), dead letters, skips, `warning` events and consumer crashes the worker recovers from
 * by joining again. At `error`: each failure once, with its
 * stack (a job's from `job.failed`, a consumer's from its lane), and `error` events; work cut short
 * by the revocation of its partition is `info` (it runs again elsewhere). At `debug`
 * (attached only when the logger has debug on): performed jobs, recurring jobs enqueued, pauses and resumes,
 * rebalances starting. Recurring-job ticker ownership is `info`, missed ticks left out `warn`.
 */
export function logWorkerEvents(events: WorkerEmitter, logger: Logger): void {
  // An error is logged with its stack once; later events about it say what happened next.
  const reported = new WeakSet<Error>();
  const report = (error: Error) => reported.add(error);
  const wasReported = (error: Error): boolean => {
    for (let current: unknown = error; current instanceof Error; current = current.cause) if (reported.has(current)) return true;
    return false;
  };

  events.on('worker.started', ({ groupId, topics }) => {
    logger.info({ event: 'worker.started', groupId, topics }, `worker started in group ${groupId}, consuming ${describeTopics(topics)}`);
  });
  events.on('worker.stopping', ({ groupId, runningJobs, runningConsumers, timeoutMs }) => {
    const running = [
      ...(runningJobs > 0 ? [count(runningJobs, 'running job')] : []),
      ...(runningConsumers > 0 ? [count(runningConsumers, 'running consumer batch', 'running consumer batches')] : []),
    ];
    const message = runningJobs + runningConsumers === 0 ? 'stopping: nothing is running' : `stopping: waiting for ${running.join(' and ')}, up to ${seconds(timeoutMs)}`;
    logger.info({ event: 'worker.stopping', groupId, runningJobs, runningConsumers, timeoutMs }, message);
  });
  events.on('worker.stopped', ({ groupId, unfinished }) => {
    if (unfinished === 0) {
      logger.info({ event: 'worker.stopped', groupId, unfinished }, `worker stopped (group ${groupId})`);
    } else {
      logger.warn(
        { event: 'worker.stopped', groupId, unfinished },
        `worker stopped (group ${groupId}) with ${count(unfinished, 'partition')} still running at the shutdown timeout; their unfinished jobs run again on the next owner`,
      );
    }
  });
  events.on('group.rebalanced', ({ groupId, assigned, revoked, kept }) => {
    const fields = { event: 'group.rebalanced', groupId, assigned, revoked, kept: kept.length };
    if (assigned.length === 0 && revoked.length === 0) {
      logger.debug(fields, `rebalanced: this worker keeps its ${count(kept.length, 'partition')}`);
      return;
    }
    const parts = [
      ...(assigned.length > 0 ? [`gained ${describePartitions(assigned)}`] : []),
      ...(revoked.length > 0 ? [`lost ${describePartitions(revoked)}`] : []),
      `now ${count(assigned.length + kept.length, 'partition')}`,
    ];
    logger.info(fields, `rebalanced: ${parts.join('; ')}`);
  });
  events.on('recurring.owned', ({ groupId, schedules }) => {
    logger.info({ event: 'recurring.owned', groupId, schedules }, `this process runs the recurring-job ticker of group ${groupId} (${schedules.join(', ')})`);
  });
  events.on('recurring.released', ({ groupId }) => {
    logger.info({ event: 'recurring.released', groupId }, `this process no longer runs the recurring-job ticker of group ${groupId}`);
  });
  events.on('recurring.skipped', ({ schedule, first, last, policy }) => {
    logger.warn(
      { event: 'recurring.skipped', schedule, first: first.toISOString(), last: last.toISOString(), policy },
      `recurring job ${schedule}: ticks from ${first.toISOString()} to ${last.toISOString()} were missed (nobody ran the ticker) and are left out (missed: '${policy}')`,
    );
  });
  events.on('topic.discovered', ({ pattern, topic }) => {
    logger.info({ event: 'topic.discovered', pattern, topic }, `pattern ${pattern} picked up topic ${topic}`);
  });

  events.on('job.failed', ({ topic, partition, offset, lane, jobId, jobClass, attempt, revoked, error }) => {
    report(error);
    const what = jobClass === undefined ? 'message' : `job ${jobClass} ${jobId ?? '(no id)'}`;
    if (revoked) {
      logger.info(
        { event: 'job.failed', jobClass, jobId, topic, partition, offset, lane, attempt, revoked, error: describeError(error) },
        `${what} at ${at({ topic, partition }, offset)} ended when its partition was revoked (${describeError(error)}); it runs again on the partition's next owner`,
      );
      return;
    }
    logger.error(
      { event: 'job.failed', jobClass, jobId, topic, partition, offset, lane, attempt, err: error },
      `${what} failed at ${at({ topic, partition }, offset)} (attempt ${attempt}): ${describeError(error)}`,
    );
  });
  events.on('lane.finished', ({ topic, partition, lane, size, error, revoked }) => {
    if (error === undefined || wasReported(error)) return;
    report(error);
    if (revoked === true) {
      logger.info(
        { event: 'lane.finished', topic, partition, lane, size, revoked, error: describeError(error) },
        `consumer of ${topic}/${partition} (lane ${lane}) ended when the partition was revoked (${describeError(error)}); its messages run again on the partition's next owner`,
      );
      return;
    }
    logger.error({ event: 'lane.finished', topic, partition, lane, size, err: error }, `consumer of ${topic}/${partition} (lane ${lane}, ${size} messages) failed: ${describeError(error)}`);
  });
  events.on('batch.failed', ({ topic, partition, firstOffset, lastOffset, attempt, retryInMs, error }) => {
    const fields = { event: 'batch.failed', topic, partition, firstOffset, lastOffset, attempt, retryInMs };
    const message =
      `${topic}/${partition}: batch ${firstOffset}..${lastOffset} failed (attempt ${attempt}: ${describeError(error)}); ` +
      `pausing the partition ${retryInMs} ms, then retrying its unfinished messages collapsed, in offset order`;
    if (wasReported(error)) {
      logger.warn({ ...fields, error: describeError(error) }, message);
      return;
    }
    // A failure no job or lane reported (a batch transaction that did not commit): this is its line.
    report(error);
    logger.error({ ...fields, err: error }, message);
  });
  events.on('message.dead-lettered', ({ topic, partition, offset, attempts, error, deadLetterTopic, dropped }) => {
    const partial = dropped.length > 0 ? ` (the copy leaves out its ${dropped.join(' and ')} to fit the topic)` : '';
    logger.warn(
      { event: 'message.dead-lettered', topic, partition, offset, attempts, deadLetterTopic, dropped, error: describeError(error) },
      `${at({ topic, partition }, offset)} dead-lettered to ${deadLetterTopic}${partial} after ${count(attempts, 'failed attempt')}: ${describeError(error)}`,
    );
  });
  events.on('message.skipped', ({ topic, partition, offset, attempts, error }) => {
    logger.warn(
      { event: 'message.skipped', topic, partition, offset, attempts, error: describeError(error) },
      `${at({ topic, partition }, offset)} skipped (dead-letter topic false) after ${count(attempts, 'failed attempt')}: ${describeError(error)}`,
    );
  });
  events.on('job.discarded', ({ topic, partition, offset, jobId, jobClass, error }) => {
    logger.info(
      { event: 'job.discarded', jobClass, jobId, topic, partition, offset, error: describeError(error) },
      `job ${jobClass ?? '(unknown class)'} ${jobId ?? '(no id)'} at ${at({ topic, partition }, offset)} discarded (discardOn): ${describeError(error)}`,
    );
  });
  events.on('job.scheduled', ({ topic, partition, offset, jobId, jobClass, scheduledAt, delayTopic, reason }) => {
    const fields = { event: 'job.scheduled', jobClass, jobId, topic, partition, offset, scheduledAt: scheduledAt.toISOString(), delayTopic, reason };
    if (reason === 'retry') logger.info(fields, `job ${jobClass} ${jobId} will be retried at ${scheduledAt.toISOString()} (retryOn wait, through ${delayTopic})`);
    else logger.debug(fields, `job ${jobClass} ${jobId} at ${at({ topic, partition }, offset)} is due at ${scheduledAt.toISOString()}: sent back to ${delayTopic}`);
  });
  events.on('warning', ({ message, kind, topic, partition }) => {
    logger.warn({ event: 'warning', kind, topic, partition }, message);
  });
  events.on('error', ({ error, topic, partition, offset, kind }) => {
    // Bad input is a job failure: its job.failed line has told it.
    if (error instanceof BadMessageError || wasReported(error)) return;
    report(error);
    if ((kind === 'consumer-restart' || kind === 'consumer-crash') && !(error instanceof ConsumerRestartError)) {
      // kafkajs gave up on its consumer (e.g. no group coordinator yet on a broker still starting):
      // the worker joins again by itself. Only a rejoin that fails (ConsumerRestartError) is an error.
      logger.warn(
        { event: 'error', kind, error: describeError(error) },
        `the consumer left the group after ${describeError(error)}; it joins again, and its partitions' unfinished work runs again from the committed offsets`,
      );
      return;
    }
    const where = topic === undefined ? '' : ` at ${offset === undefined ? `${topic}/${partition ?? '?'}` : at({ topic, partition: partition ?? -1 }, offset)}`;
    logger.error({ event: 'error', kind, topic, partition, offset, err: error }, `${kind ?? 'error'}${where}: ${describeError(error)}`);
  });

  if (logger.isLevelEnabled?.('debug') !== true) return;
  events.on('job.performed', ({ topic, partition, offset, jobId, jobClass, startedAt, finishedAt }) => {
    logger.debug({ event: 'job.performed', jobClass, jobId, topic, partition, offset, ms: finishedAt - startedAt }, `job ${jobClass} ${jobId} at ${at({ topic, partition }, offset)} performed in ${finishedAt - startedAt} ms`);
  });
  events.on('recurring.enqueued', ({ schedule, tick, jobId, jobClass, topic, lateMs }) => {
    logger.debug({ event: 'recurring.enqueued', schedule, tick: tick.toISOString(), jobId, jobClass, topic, lateMs }, `recurring job ${schedule}: enqueued ${jobClass} ${jobId} for ${tick.toISOString()} to ${topic}`);
  });
  events.on('partition.paused', ({ topic, partition, reason }) => logger.debug({ event: 'partition.paused', topic, partition, reason }, `${topic}/${partition} paused (${reason})`));
  events.on('partition.resumed', ({ topic, partition }) => logger.debug({ event: 'partition.resumed', topic, partition }, `${topic}/${partition} resumed`));
  events.on('group.rebalancing', ({ groupId }) => logger.debug({ event: 'group.rebalancing', groupId }, `group ${groupId} is rebalancing; commits wait for the rejoin`));
}

function at(ref: PartitionRef, offset: number): string {
  return describeCoordinates({ ...ref, offset });
}

function describeError(error: Error): string {
  return `${errorClassName(error)}: ${error.message}`;
}

function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** `billing (and its 9 delay tiers), events`: a job topic's delay tiers are folded into it. */
function describeTopics(topics: readonly string[]): string {
  const tiers = new Map<string, number>();
  for (const topic of topics) {
    const target = parseDelayTopic(topic)?.target;
    if (target !== undefined) tiers.set(target, (tiers.get(target) ?? 0) + 1);
  }
  const shown = topics.filter((topic) => parseDelayTopic(topic) === undefined);
  const described = shown.map((topic) => (tiers.has(topic) ? `${topic} (and its ${count(tiers.get(topic)!, 'delay tier')})` : topic));
  const orphans = [...tiers.keys()].filter((target) => !shown.includes(target));
  return [...described, ...orphans.map((target) => `the delay tiers of ${target}`)].join(', ');
}

/** `billing[0,1,2] events[4]`, delay-tier partitions counted apart. */
function describePartitions(refs: readonly PartitionRef[]): string {
  const byTopic = new Map<string, number[]>();
  let tierPartitions = 0;
  for (const { topic, partition } of refs) {
    if (parseDelayTopic(topic) !== undefined) {
      tierPartitions += 1;
      continue;
    }
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  }
  const listed = [...byTopic].map(([topic, partitions]) => `${topic}[${partitions.sort((a, b) => a - b).join(',')}]`);
  if (tierPartitions > 0) listed.push(`${count(tierPartitions, 'delay-tier partition')}`);
  return listed.join(' ');
}
