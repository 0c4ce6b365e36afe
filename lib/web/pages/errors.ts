import { html, type Html } from '../html.ts';
import { formatTime, href, layout, type PageContext } from '../layout.ts';
import type { ErrorReport } from '../../reports/index.ts';

/** What the Errors page filters by. */
export interface ErrorFilter {
  jobClass?: string;
  topic?: string;
}

/** Errors: the newest failures with their stacks, filtered by job class and topic. */
export function errorsPage(context: PageContext, errors: readonly ErrorReport[], facets: { jobClasses: string[]; topics: string[] }, filter: ErrorFilter): Html {
  const select = (name: string, label: string, options: readonly string[], chosen: string | undefined) =>
    html`<label>${label} <select name="${name}"><option value="">any</option>${options.map((o) => html`<option${o === chosen ? html` selected` : ''}>${o}</option>`)}</select></label>`;
  const body = html`<form method="get" action="${href(context, '/errors')}" class="filters">
${select('jobClass', 'job class', facets.jobClasses, filter.jobClass)}
${select('topic', 'topic', facets.topics, filter.topic)}
<button type="submit">Filter</button>
</form>
${errors.length === 0
  ? html`<p class="empty" id="errors">No failures${filter.jobClass || filter.topic ? ' match' : ''}.</p>`
  : html`<ol class="errors" id="errors">${errors.map(
      (e) => html`<li class="error">
<p>${formatTime(e.at)} <strong class="error-class">${e.errorClass}</strong>: <span class="error-message">${e.message}</span></p>
<p class="muted"><span class="error-kind">${e.kind}</span>${e.jobClass === null ? '' : html` · <span class="job-class">${e.jobClass}</span>`}${e.jobId === null ? '' : html` <code>${e.jobId}</code>`}${e.topic === null ? '' : html` · ${e.topic}/${e.partition ?? '?'}@${e.offset ?? '?'}`}${e.attempt === null ? '' : html` · attempt ${e.attempt}`} · ${e.groupId}</p>
${e.stack === null ? '' : html`<details><summary>stack</summary><pre class="stack">${e.stack}</pre></details>`}
</li>`,
    )}</ol>`}`;
  return layout(context, 'Errors', body);
}
