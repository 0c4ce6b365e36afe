import type { TopicOverview } from '../../admin/index.ts';
import { html, type Html } from '../html.ts';
import { formatBytes, formatDuration, href, layout, table, type PageContext } from '../layout.ts';

/** Topics shown on one page of the Topics page: a cluster's offsets and configs are read for these only. */
export const TOPICS_PER_PAGE = 100;

/** Which of the topics the Topics page shows: a name filter and a page of the names it matched. */
export interface TopicsSelection {
  /** Part of a topic's name ('' for every topic). */
  filter: string;
  /** The page shown, from 0. */
  page: number;
  /** How many topic names matched the filter. */
  matched: number;
}

/** Topics: partitions (leader, replicas, offsets), records kept, and retention, a page of names at a time. */
export function topicsPage(context: PageContext, topics: readonly TopicOverview[], selection: TopicsSelection): Html {
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
  const { filter, page, matched } = selection;
  const first = page * TOPICS_PER_PAGE;
  const link = (to: number, label: string) => html`<a href="${href(context, '/topics', { q: filter || undefined, page: to })}">${label}</a>`;
  const body = html`<form method="get" action="${href(context, '/topics')}" class="filters">
<label>name contains <input name="q" value="${filter}"></label>
<button type="submit">Filter</button>
</form>
<p class="muted" id="topics-range">${matched === 0 ? 'No topic matches.' : `Topics ${first + 1} to ${first + topics.length} of ${matched}.`}
${page > 0 ? link(page - 1, 'previous') : ''} ${first + topics.length < matched ? link(page + 1, 'next') : ''}</p>
${table(['topic', 'partitions', 'records', 'retention', 'cleanup', ''], rows, 'No topics.', 'topics')}`;
  return layout(context, 'Topics', body);
}

function retention(topic: TopicOverview): string {
  const time = topic.retentionMs === undefined ? '?' : topic.retentionMs < 0 ? 'for ever' : formatDuration(topic.retentionMs);
  const size = topic.retentionBytes === undefined || topic.retentionBytes < 0 ? '' : `, ${formatBytes(topic.retentionBytes)} a partition`;
  return `${time}${size}`;
}
