import type { TopicOverview } from '../../admin/index.ts';
import { html, type Html } from '../html.ts';
import { formatBytes, formatDuration, layout, table, type PageContext } from '../layout.ts';

/** Topics: partitions (leader, replicas, offsets), records kept, and retention. */
export function topicsPage(context: PageContext, topics: readonly TopicOverview[]): Html {
  const rows = topics.map((topic) => [
    html`<span data-topic="${topic.topic}">${topic.topic}</span>`,
    topic.partitions.length,
    html`<span data-records="${topic.topic}">${topic.records}</span>`,
    retention(topic),
    topic.cleanupPolicy ?? '?',
    html`<details><summary>offsets</summary>${table(
      ['partition', 'leader', 'replicas', 'in sync', 'low', 'high'],
      topic.partitions.map((p) => [p.partition, p.leader, p.replicas.join(', '), p.inSync.join(', '), p.low, p.high]),
      'No partitions.',
    )}</details>`,
  ]);
  return layout(context, 'Topics', table(['topic', 'partitions', 'records', 'retention', 'cleanup', ''], rows, 'No topics.', 'topics'));
}

function retention(topic: TopicOverview): string {
  const time = topic.retentionMs === undefined ? '?' : topic.retentionMs < 0 ? 'for ever' : formatDuration(topic.retentionMs);
  const size = topic.retentionBytes === undefined || topic.retentionBytes < 0 ? '' : `, ${formatBytes(topic.retentionBytes)} a partition`;
  return `${time}${size}`;
}
