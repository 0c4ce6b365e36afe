import type { GroupOverview } from '../../admin/index.ts';
import { html, type Html } from '../html.ts';
import { layout, table, type PageContext } from '../layout.ts';

/**
 * Consumer groups: state, members, and per topic and partition the committed offset, end, lag and
 * metadata. Delay tiers count as scheduled, not as lag.
 */
export function groupsPage(context: PageContext, groups: readonly GroupOverview[]): Html {
  const body = groups.length === 0
    ? html`<p class="empty">No consumer groups.</p>`
    : html`${groups.map(
        (group) => html`<section class="group" data-group="${group.groupId}">
<h2>${group.groupId} <span class="state">${group.state}</span> <span class="figure" data-lag="${group.lag}">lag ${group.lag}</span>${group.scheduled > 0 ? html` <span class="figure">${group.scheduled} scheduled</span>` : ''}</h2>
<p>${group.members.length} member${group.members.length === 1 ? '' : 's'}${group.members.map((m) => html` · ${m.clientId} (${m.host})`)}</p>
${group.topics.map(
  (topic) => html`<h3>${topic.topic} <span class="figure">${topic.delayTier ? `${topic.lag} scheduled (waiting in this delay tier)` : `lag ${topic.lag}`}</span></h3>
${table(
  ['partition', 'committed', 'end', 'lag', 'metadata'],
  topic.partitions.map((p) => [p.partition, p.committed < 0 ? '-' : p.committed, p.end, html`<span data-partition-lag="${topic.topic}/${p.partition}">${p.lag}</span>`, html`<code class="metadata">${p.metadata ?? ''}</code>`]),
  'No committed offsets.',
)}`,
)}
</section>`,
      )}`;
  return layout(context, 'Consumer groups', body);
}
