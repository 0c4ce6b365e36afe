import type { DeadLetter, DeadLetterCounts, DeadLetterDetail, DeadLetterPage, ReplayResult } from '../../admin/index.ts';
import { html, type Html } from '../html.ts';
import { formatTime, href, layout, table, type PageContext } from '../layout.ts';
import { describeCoordinates } from '../../errors.ts';

/** Longest arguments text shown in a page's table (the entry's own page shows all of it). */
const ARGUMENTS_SHOWN = 240;

/** The dead-letter topics with their counts, and links to each partition's first page. */
export function deadLetterTopicsPage(context: PageContext, topics: readonly { topic: string; counts: DeadLetterCounts }[]): Html {
  const rows = topics.map(({ topic, counts }) => [
    html`<a href="${href(context, '/dead-letters/topic', { topic })}" data-dlq="${topic}">${topic}</a>`,
    html`<span data-total="${topic}">${counts.total}</span>`,
    html`<span data-replayed="${topic}">${counts.replayed}</span>`,
    html`<span data-dlq-waiting="${topic}">${counts.waiting}</span>`,
    counts.partitions.map((p) => html`<a href="${href(context, '/dead-letters/topic', { topic, partition: p.partition })}">${p.partition}</a> <span class="muted">(${p.low}..${p.high})</span> `),
  ]);
  return layout(
    context,
    'Dead letters',
    html`${table(['dead-letter topic', 'offsets', 'replayed', 'waiting', 'partitions'], rows, 'No dead-letter topics.', 'dead-letter-topics')}
<p class="muted">Topics named like <code>*.dlq</code> or <code>*-dead-letters</code> are listed, and those given with <code>deadLetterTopics</code> (<code>--dlq</code>).</p>`,
  );
}

/** One page of a dead-letter partition: decoded entries, a selection to replay, replay by source partition, paging by offset. */
export function deadLetterPage(context: PageContext, page: DeadLetterPage, partitions: readonly number[]): Html {
  const { topic, partition } = page;
  const sources = [...new Map(page.entries.filter((e) => e.source.topic !== undefined && e.source.partition !== undefined).map((e) => [`${e.source.topic}/${e.source.partition}`, e.source])).values()];
  const actions = context.readOnly
    ? ''
    : html`<div class="actions">
<button type="button" class="secondary" id="select-all">Select all on this page</button>
<button type="submit" name="action" value="selection" form="replay-form" id="replay-selected">Replay selected</button>
${sources.map(
  (s) =>
    html`<button type="submit" class="secondary" name="source" value="${s.topic}/${s.partition}" form="replay-form" data-replay-source="${s.topic}/${s.partition}">Replay all from ${s.topic}/${s.partition}</button>`,
)}
<button type="submit" class="secondary" name="all" value="true" form="replay-form" id="replay-all">Replay every dead letter of ${topic}</button>
</div>`;
  const rows = page.entries.map((entry) => [
    context.readOnly || entry.replayed !== undefined ? '' : html`<input type="checkbox" name="entry" value="${entry.partition}@${entry.offset}" form="replay-form" aria-label="select ${entry.offset}">`,
    html`<a href="${href(context, '/dead-letters/entry', { topic, partition: entry.partition, offset: entry.offset })}">${entry.offset}</a>`,
    html`<span class="job-class">${entry.jobClass ?? '?'}</span><br><code class="job-id">${entry.jobId ?? ''}</code>`,
    html`<code class="arguments">${argumentsText(entry, ARGUMENTS_SHOWN)}</code>`,
    html`<span class="error-class">${entry.errorClass ?? '?'}</span>: <span class="error-message">${entry.errorMessage ?? ''}</span>`,
    html`${entry.source.topic ?? '?'}/${entry.source.partition ?? '?'}@${entry.source.offset ?? '?'}<br><span class="muted">${entry.attempts ?? '?'} attempts, ${formatTime(entry.failedAt)}</span>`,
    replayedCell(context, entry),
  ]);
  const pager = html`<nav class="pager">
<a href="${href(context, '/dead-letters/topic', { topic, partition, from: page.low })}">first</a>
${page.next < page.end ? html`<a href="${href(context, '/dead-letters/topic', { topic, partition, from: page.next })}" id="next-page">next from ${page.next}</a>` : html`<span class="muted">last page</span>`}
<span class="muted">offsets ${page.from}..${page.next} of ${page.low}..${page.end}</span>
</nav>`;
  const body = html`<p>Partition ${partitions.map((p) => (p === partition ? html`<strong>${p}</strong> ` : html`<a href="${href(context, '/dead-letters/topic', { topic, partition: p })}">${p}</a> `))}</p>
<form method="post" action="${href(context, '/dead-letters/replay')}" id="replay-form">
<input type="hidden" name="csrf" value="${context.csrf}">
<input type="hidden" name="topic" value="${topic}">
</form>
${actions}
${table(['', 'offset', 'job', 'arguments', 'error', 'source', 'replayed'], rows, 'No dead letters from this offset on.', 'dead-letters')}
${pager}`;
  return layout(context, `Dead letters: ${topic}`, body, ['dead-letters.js']);
}

/** One dead letter: every decoded field, its headers and value, and a replay button. */
export function deadLetterEntryPage(context: PageContext, entry: DeadLetterDetail): Html {
  const fields: [string, Html | string | number | undefined][] = [
    ['position', `${describeCoordinates(entry)}`],
    ['job class', entry.jobClass],
    ['job id', entry.jobId],
    ['key', entry.key ?? undefined],
    ['arguments', html`<pre class="arguments">${argumentsText(entry, Number.POSITIVE_INFINITY)}</pre>`],
    ['error', `${entry.errorClass ?? '?'}: ${entry.errorMessage ?? ''}`],
    ['attempts', entry.attempts],
    ['source', `${entry.source.topic ?? '?'}/${entry.source.partition ?? '?'}@${entry.source.offset ?? '?'} (group ${entry.source.consumerGroup ?? '?'})`],
    ['enqueued', entry.enqueuedAt === undefined ? undefined : formatTime(entry.enqueuedAt)],
    ['failed', formatTime(entry.failedAt)],
    ['size', `${entry.sizeBytes} bytes`],
    ['replayed', replayedCell(context, entry)],
  ];
  const body = html`<table class="fields">${fields.map(([name, value]) => html`<tr><th>${name}</th><td>${value ?? '-'}</td></tr>`)}</table>
${context.readOnly || entry.replayed !== undefined
  ? ''
  : html`<form method="post" action="${href(context, '/dead-letters/replay')}">
<input type="hidden" name="csrf" value="${context.csrf}">
<input type="hidden" name="topic" value="${entry.topic}">
<input type="hidden" name="entry" value="${entry.partition}@${entry.offset}">
<button type="submit" name="action" value="selection" id="replay-one">Replay</button>
</form>`}
<h2>Headers</h2>
${table(['name', 'value'], Object.entries(entry.headers).map(([name, value]) => [name, html`<code>${value}</code>`]), 'No headers.')}
<h2>Value</h2>
<pre class="value">${entry.value ?? '(none)'}</pre>`;
  return layout(context, `Dead letter ${entry.partition}@${entry.offset}`, body);
}

/** What a replay did: replayed entries with where they went, and the ones left alone with why. */
export function replayResultPage(context: PageContext, topic: string, result: ReplayResult): Html {
  const body = html`<p class="notice" id="replay-result">Replayed ${result.replayed.length} dead letter${result.replayed.length === 1 ? '' : 's'}${result.skipped.length === 0 ? '' : `, left ${result.skipped.length} alone`}.</p>
${table(
  ['dead letter', 'sent to'],
  result.replayed.map((r) => [`${r.deadLetter.partition}@${r.deadLetter.offset}`, `${describeCoordinates(r.to)}`]),
  'Nothing was replayed.',
  'replayed',
)}
${result.skipped.length === 0 ? '' : html`<h2>Left alone</h2>${table(['dead letter', 'why'], result.skipped.map((s) => [`${s.deadLetter.partition}@${s.deadLetter.offset}`, `${s.why}: ${s.reason}`]), '', 'skipped')}`}
<p><a href="${href(context, '/dead-letters/topic', { topic })}">Back to ${topic}</a></p>`;
  return layout(context, `Replay: ${topic}`, body);
}

function replayedCell(context: PageContext, entry: DeadLetter): Html {
  if (entry.replayed === undefined) return html`<span class="muted">waiting</span>`;
  const to = entry.replayed.to;
  return html`<span class="replayed" data-replayed-entry="${entry.partition}@${entry.offset}">replayed</span> <span class="muted">${formatTime(entry.replayed.at)} to <a href="${href(context, '/topics')}">${to.topic}</a>/${to.partition}@${to.offset}</span>`;
}

function argumentsText(entry: DeadLetter, limit: number): string {
  if (entry.arguments === undefined) return entry.problem ?? '';
  const text = JSON.stringify(entry.arguments);
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}
