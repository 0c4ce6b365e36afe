import { clusterStatus, type ClusterStatus } from '../admin/index.ts';
import { parseCommand, refuseExtraArguments } from './args.ts';
import { describeCoordinates } from '../errors.ts';

const STATUS_USAGE = `usage: partita status [options]

One look at the system, from Kafka alone: consumer groups with their lag per topic and partition,
worker processes (from their reports; "gone" once they stopped reporting), running jobs,
dead letters per dead-letter topic, jobs waiting in the delay tiers, and recurring jobs.

options:
  --brokers <host:port,...>   the cluster (default: $KAFKA_BROKERS, else 127.0.0.1:9092)
  --group <group-id>          only this consumer group
  --dlq <topic>               also count this dead-letter topic (repeatable; the workers'
                              reports name their routes' dead-letter topics already)
  --json                      print the status as JSON
  -h, --help                  show this help`;

const STATUS_OPTIONS = {
  brokers: { type: 'string' },
  group: { type: 'string' },
  dlq: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;

/** `partita status`; returns the exit status. */
export async function runStatus(args: readonly string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommand('status', args, STATUS_OPTIONS);
  if (values.help) {
    out(STATUS_USAGE);
    return 0;
  }
  refuseExtraArguments('status', positionals, 0);
  const brokers = (values.brokers ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const status = await clusterStatus({
    kafka: { brokers, logLevel: 'error' },
    ...(values.group === undefined ? {} : { groupId: values.group }),
    deadLetterTopics: values.dlq ?? [],
  });
  if (values.json) out(JSON.stringify(status, null, 2));
  else for (const line of formatStatus(status)) out(line);
  return 0;
}

/** The status as lines for a terminal. */
export function formatStatus(status: ClusterStatus): string[] {
  const lines: string[] = [];
  const section = (title: string, rows: string[], empty: string) => {
    lines.push(title);
    lines.push(...(rows.length === 0 ? [`  ${empty}`] : rows.map((row) => `  ${row}`)));
    lines.push('');
  };
  section(
    `groups (${status.groups.length})`,
    status.groups.flatMap((group) => [
      `${group.groupId}  ${group.state}  ${group.members.length} member${group.members.length === 1 ? '' : 's'}  lag ${group.lag}`,
      ...group.topics.flatMap((topic) => [
        `  ${topic.topic}  lag ${topic.lag}`,
        ...topic.partitions.map((p) => `    ${p.partition}: committed ${p.committed < 0 ? '-' : p.committed}  end ${p.end}  lag ${p.lag}`),
      ]),
    ]),
    'none',
  );
  section(
    `processes (${status.processes.filter((p) => p.state === 'live').length} live)`,
    status.processes.map(({ state, report }) => {
      const { host, pid, rssBytes, cpuPercent, eventLoopDelayMs } = report.process;
      const since = Math.round((status.at - report.at) / 1000);
      const partitions = report.partitions.map((p) => `${p.topic}/${p.partition}${p.collapsed ? ' (collapsed)' : ''}`).join(', ');
      return (
        `${report.processId}  ${state}  group ${report.groupId}  ${host} pid ${pid}  rss ${Math.round(rssBytes / 1_048_576)} MiB  cpu ${cpuPercent}%  ` +
        `loop p99 ${eventLoopDelayMs.p99} ms  last report ${since}s ago  partitions ${partitions || '-'}`
      );
    }),
    'no worker reported in the last hour',
  );
  section(
    `running jobs (${status.runningJobs.length})`,
    status.runningJobs.map((job) => `${job.jobClass} ${job.jobId}  ${describeCoordinates(job)}  for ${Math.round((status.at - job.startedAt) / 1000)}s  on ${job.processId}`),
    'none',
  );
  section(
    `dead letters (${status.deadLetters.reduce((sum, d) => sum + d.counts.waiting, 0)} waiting)`,
    status.deadLetters.map((d) => `${d.topic}  total ${d.counts.total}  replayed ${d.counts.replayed}  waiting ${d.counts.waiting}`),
    'no dead-letter topics known (name one with --dlq)',
  );
  section(
    `scheduled (${status.scheduled.reduce((sum, tier) => sum + tier.waiting, 0)} waiting)`,
    status.scheduled.filter((tier) => tier.waiting > 0).map((tier) => `${tier.jobTopic}  tier ${tier.tier}  ${tier.waiting} waiting`),
    'no job waits in a delay tier',
  );
  section(
    `recurring (${status.recurring.reduce((sum, group) => sum + group.schedules.length, 0)})`,
    status.recurring.flatMap((group) =>
      group.schedules.map((s) => `${group.groupId}  ${s.name}  ${s.cron} (${s.timezone})  ${s.jobClass} -> ${s.topic}  next ${s.nextRun?.toISOString() ?? '-'}`),
    ),
    'none',
  );
  return lines.slice(0, -1);
}
