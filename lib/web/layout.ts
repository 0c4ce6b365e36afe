import { html, type Html, type HtmlValue } from './html.ts';

/** The pages, in the order of the navigation bar: path below the base path and title. */
export const PAGES = [
  { path: '/', title: 'Dashboard' },
  { path: '/groups', title: 'Consumer groups' },
  { path: '/processes', title: 'Processes' },
  { path: '/errors', title: 'Errors' },
  { path: '/dead-letters', title: 'Dead letters' },
  { path: '/scheduled', title: 'Scheduled' },
  { path: '/topics', title: 'Topics' },
] as const;

/** What every page needs to link and post back to its own handler. */
export interface PageContext {
  /** The public path the handler is mounted at ('' at the root). */
  basePath: string;
  /** The page's own path (below the base path), to mark it in the navigation. */
  path: string;
  /** Actions are hidden and refused. */
  readOnly: boolean;
  /** The CSRF token the page's forms carry. */
  csrf: string;
}

/** A link to `path` below the base path, with `query` encoded. */
export function href(context: Pick<PageContext, 'basePath'>, path: string, query: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, String(value));
  const search = params.toString();
  return `${context.basePath}${path}${search === '' ? '' : `?${search}`}`;
}

/** A whole page: head with our stylesheet (after `stylesheets`) and `scripts` (all files), navigation, `body`. */
export function layout(context: PageContext, title: string, body: Html, scripts: readonly string[] = [], stylesheets: readonly string[] = []): Html {
  const section = PAGES.find((page) => page.path !== '/' && (context.path === page.path || context.path.startsWith(`${page.path}/`)))?.path ?? '/';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Partita</title>
${stylesheets.map((sheet) => html`<link rel="stylesheet" href="${href(context, `/assets/${sheet}`)}">`)}
<link rel="stylesheet" href="${href(context, '/assets/partita.css')}">
${scripts.map((script) => html`<script src="${href(context, `/assets/${script}`)}" defer></script>`)}
</head>
<body data-base="${context.basePath}">
<header>
<a class="brand" href="${href(context, '/')}">Partita</a>
<nav>${PAGES.map((page) => html`<a href="${href(context, page.path)}"${page.path === section ? html` aria-current="page"` : ''}>${page.title}</a>`)}</nav>
${context.readOnly ? html`<span class="badge">read-only</span>` : ''}
</header>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`;
}

/** A table with a header row; `empty` is shown instead when there are no rows. */
export function table(headers: readonly string[], rows: readonly (readonly HtmlValue[])[], empty: string, id?: string): Html {
  if (rows.length === 0) return html`<p class="empty"${id === undefined ? '' : html` id="${id}"`}>${empty}</p>`;
  return html`<table${id === undefined ? '' : html` id="${id}"`}><thead><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows.map(
    (row) => html`<tr>${row.map((cell) => html`<td>${cell}</td>`)}</tr>`,
  )}</tbody></table>`;
}

/** A duration for people: `850 ms`, `12 s`, `5 min`, `3 h`, `2 d`. */
export function formatDuration(ms: number): string {
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1_000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

/** A byte count for people: `512 B`, `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** An instant as ISO 8601 in UTC, to the second, in a `<time>` element. */
export function formatTime(at: Date | number | string): Html {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return html`<span>?</span>`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}Z</time>`;
}
