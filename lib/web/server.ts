import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { ClusterReader, DeadLetters, listRecurringSchedules, type ReplaySelection } from '../admin/index.ts';
import { InvalidOptionError, WebAuthRequiredError, type KafkaConnection } from '../index.ts';
import { html, type Html } from './html.ts';
import { layout, type PageContext } from './layout.ts';
import { LiveState } from './live.ts';
import { dashboardPage } from './pages/dashboard.ts';
import { deadLetterEntryPage, deadLetterPage, deadLetterTopicsPage, replayResultPage } from './pages/dead-letters.ts';
import { errorsPage } from './pages/errors.ts';
import { groupsPage } from './pages/groups.ts';
import { processesPage } from './pages/processes.ts';
import { scheduledPage } from './pages/scheduled.ts';
import { TOPICS_PER_PAGE, topicsPage } from './pages/topics.ts';
import { Guard, isLoopback, SECURITY_HEADERS, validateAuth, type WebAuth } from './security.ts';

/** Options of {@link createWebHandler}. */
export interface WebHandlerOptions {
  /** The cluster the workers run on: every figure is read from it (Kafka is the only store). */
  kafka: KafkaConnection;
  /**
   * The public path the handler is mounted at, e.g. `/partita`: links and cookies are made under it,
   * and a request URL that starts with it has it removed (Express removes it itself).
   * @defaultValue `''` (the root)
   */
  basePath?: string;
  /**
   * Show everything, change nothing: no replay buttons, and every POST is refused with 403.
   * @defaultValue false
   */
  readOnly?: boolean;
  /** Who may use the pages (see {@link WebAuth}). @defaultValue none: everyone who reaches the handler */
  auth?: WebAuth;
  /**
   * Dead-letter topics to list besides those found by name (every topic named like `*.dlq`,
   * `*-dlq`, `*_dlq`, `*.dead-letters` or `*.deadletters`).
   * @defaultValue []
   */
  deadLetterTopics?: string[];
  /**
   * Show only these consumer groups: their lag, their workers' reports and errors. For a cluster
   * several apps share.
   * @defaultValue every group
   */
  groupIds?: string[];
}

/** A request handler for a Node http server, Express or Fastify (`(request, response, next?)`). */
export interface WebHandler {
  /**
   * Answers a request under the base path. `next` (Express, Connect) is called for a path that is
   * not Partita's; without it such a request gets 404.
   */
  (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void): void;
  /** Stops following the workers' reports and closes live event streams. */
  close(): Promise<void>;
}

/** Options of {@link startWebServer}: the handler's, and where to listen. */
export interface WebServerOptions extends WebHandlerOptions {
  /**
   * Address to listen on. Any address but a loopback one needs `auth`.
   * @defaultValue `'127.0.0.1'`
   */
  host?: string;
  /**
   * Port to listen on (0: any free port).
   * @defaultValue 9290
   */
  port?: number;
}

/** A running Partita Web server. */
export interface WebServer {
  /** Where it answers, e.g. `http://127.0.0.1:9290/`. */
  readonly url: string;
  /** Stops listening and closes the handler. */
  close(): Promise<void>;
}

/** Topic names taken for dead-letter topics without being listed in `deadLetterTopics`. */
const DEAD_LETTER_NAME = /(?:^|[._-])(?:dlq|dead-?letters?)$/i;

/** Largest form body an action may send, in bytes. */
const MAX_FORM_BYTES = 64 * 1024;

const require = createRequire(import.meta.url);

/** The static files pages load: our own scripts and stylesheet, and uPlot from node_modules. */
const ASSETS: Record<string, { path: () => string; type: string }> = {
  'partita.css': { path: () => new URL('./assets/partita.css', import.meta.url).pathname, type: 'text/css; charset=utf-8' },
  'dashboard.js': { path: () => new URL('./assets/dashboard.js', import.meta.url).pathname, type: 'text/javascript; charset=utf-8' },
  'dead-letters.js': { path: () => new URL('./assets/dead-letters.js', import.meta.url).pathname, type: 'text/javascript; charset=utf-8' },
  'uPlot.iife.min.js': { path: () => require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** A request the router answers: the parsed URL (base path removed) and the page context. */
interface Route {
  request: IncomingMessage;
  response: ServerResponse;
  url: URL;
  context: PageContext;
}

/**
 * Partita Web as a request handler to mount in an existing server:
 * `http.createServer(handler)`, `app.use('/partita', handler)` (Express, with `basePath: '/partita'`),
 * or a Fastify route that hands `request.raw` and `reply.raw` to it. Pages are server-rendered HTML
 * under a strict Content-Security-Policy (scripts only from our own files); every action is a POST
 * carrying a CSRF token.
 */
export function createWebHandler(options: WebHandlerOptions): WebHandler {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('createWebHandler', 'expected { kafka: { brokers: [...] } }');
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  if (basePath !== '' && !/^\/[\w\-./~]*$/.test(basePath)) throw new InvalidOptionError('createWebHandler.basePath', `expected a path such as "/partita", got ${JSON.stringify(options.basePath)}`);
  validateAuth(options.auth, 'createWebHandler.auth');
  const readOnly = options.readOnly ?? false;
  const groupIds = options.groupIds;
  if (groupIds !== undefined && (!Array.isArray(groupIds) || groupIds.some((g) => typeof g !== 'string' || g === ''))) {
    throw new InvalidOptionError('createWebHandler.groupIds', 'expected a list of consumer group ids');
  }
  const cluster = new ClusterReader(options.kafka);
  const shownGroups = () => cluster.groups(groupIds);
  const live = new LiveState(options.kafka, shownGroups, groupIds);
  // Follow the reports and sample lag from now on, so the charts have figures by the first visit;
  // a failure here (no broker yet) is met again, and reported, by the first page that needs them.
  live.start().catch(() => undefined);
  const guard = new Guard(options.auth, basePath);
  const deadLetters = new DeadLetters({ kafka: { logLevel: 'nothing', ...options.kafka } });
  const listedDeadLetterTopics = options.deadLetterTopics ?? [];
  if (!Array.isArray(listedDeadLetterTopics) || listedDeadLetterTopics.some((t) => typeof t !== 'string' || t === '')) {
    throw new InvalidOptionError('createWebHandler.deadLetterTopics', 'expected a list of topic names');
  }
  const streams = new Set<ServerResponse>();

  async function deadLetterTopics(): Promise<string[]> {
    const found = (await cluster.topicNames()).filter((name) => !name.startsWith('__') && DEAD_LETTER_NAME.test(name));
    return [...new Set([...listedDeadLetterTopics, ...found])].sort();
  }

  const pages: Record<string, (route: Route) => Promise<Html | undefined>> = {
    '/': async ({ context }) => {
      await live.start();
      return dashboardPage(context, live.figures(), live.processes());
    },
    '/groups': async ({ context }) => groupsPage(context, await shownGroups()),
    '/processes': async ({ context }) => {
      await live.start();
      return processesPage(context, live.processes());
    },
    '/errors': async ({ context, url }) => {
      await live.start();
      const filter = { jobClass: url.searchParams.get('jobClass') || undefined, topic: url.searchParams.get('topic') || undefined };
      return errorsPage(context, live.errors(filter), live.errorFacets(), filter);
    },
    '/dead-letters': async ({ context }) => {
      const topics = await deadLetterTopics();
      return deadLetterTopicsPage(context, await Promise.all(topics.map(async (topic) => ({ topic, counts: await deadLetters.counts(topic) }))));
    },
    '/dead-letters/topic': async ({ context, url }) => {
      const topic = url.searchParams.get('topic') ?? '';
      const partitions = (await deadLetters.partitions(topic)).map((p) => p.partition);
      if (partitions.length === 0) return undefined;
      const partition = wholeNumber(url.searchParams.get('partition')) ?? partitions[0]!;
      if (!partitions.includes(partition)) return undefined;
      const page = await deadLetters.page(topic, { partition, from: wholeNumber(url.searchParams.get('from')), limit: 50 });
      return deadLetterPage(context, page, partitions);
    },
    '/dead-letters/entry': async ({ context, url }) => {
      const partition = wholeNumber(url.searchParams.get('partition'));
      const offset = wholeNumber(url.searchParams.get('offset'));
      if (partition === undefined || offset === undefined) return undefined;
      const entry = await deadLetters.get(url.searchParams.get('topic') ?? '', partition, offset);
      return entry === undefined ? undefined : deadLetterEntryPage(context, entry);
    },
    '/scheduled': async ({ context }) => {
      const groups = await shownGroups();
      // With groupIds, the tiers of the job topics those groups consume.
      const jobTopics = groupIds === undefined ? undefined : [...new Set(groups.flatMap((g) => g.topics.filter((t) => !t.delayTier).map((t) => t.topic)))];
      const tiers = await cluster.delayTiers({ jobTopics, groupIds });
      const recurring = await Promise.all(
        groups.map(async ({ groupId }) => (await listRecurringSchedules({ kafka: { logLevel: 'nothing', ...options.kafka }, groupId })).map((schedule) => ({ groupId, schedule }))),
      );
      return scheduledPage(context, tiers, recurring.flat());
    },
    '/topics': async ({ context, url }) => {
      const filter = url.searchParams.get('q') ?? '';
      const names = (await cluster.topicNames()).filter((name) => name.includes(filter));
      const page = Math.min(wholeNumber(url.searchParams.get('page')) ?? 0, Math.max(0, Math.ceil(names.length / TOPICS_PER_PAGE) - 1));
      const shown = names.slice(page * TOPICS_PER_PAGE, (page + 1) * TOPICS_PER_PAGE);
      return topicsPage(context, shown.length === 0 ? [] : await cluster.topics(shown), { filter, page, matched: names.length });
    },
  };

  async function answer(request: IncomingMessage, response: ServerResponse, next: ((error?: unknown) => void) | undefined): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://partita.invalid');
    if (basePath !== '' && (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) url.pathname = url.pathname.slice(basePath.length) || '/';
    const known = url.pathname in pages || url.pathname === '/dead-letters/replay' || url.pathname === '/series' || url.pathname === '/events' || url.pathname.startsWith('/assets/');
    if (!known) {
      if (next) return next();
      return send(response, 404, 'text/plain; charset=utf-8', 'Not found.\n');
    }
    if ((await guard.authenticate(request, response, url)) === 'answered') return;
    if (url.pathname.startsWith('/assets/')) return serveAsset(response, url.pathname.slice('/assets/'.length));
    if (request.method === 'POST') return act(request, response, url);
    if (url.pathname === '/dead-letters/replay') return refuse(response, 405, 'Replays are POSTs from the dead-letter pages.');
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(response, 405, 'Only GET and POST are answered.');
    if (url.pathname === '/series') {
      await live.start();
      return send(response, 200, 'application/json; charset=utf-8', JSON.stringify(live.series()));
    }
    if (url.pathname === '/events') return openStream(request, response);
    const context: PageContext = { basePath, path: url.pathname, readOnly, csrf: guard.csrfToken(request, response) };
    const page = await pages[url.pathname]!({ request, response, url, context });
    if (page === undefined) return send(response, 404, 'text/html; charset=utf-8', layout(context, 'Not found', html`<p>Nothing here.</p>`).text);
    return send(response, 200, 'text/html; charset=utf-8', page.text);
  }

  /** The one action: replaying dead letters (POST /dead-letters/replay, with the CSRF token). */
  async function act(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    if (url.pathname !== '/dead-letters/replay') return refuse(response, 405, 'This page takes no action.');
    if (readOnly) return refuse(response, 403, 'Partita Web is read-only: replays are turned off.');
    const form = await readForm(request);
    if (!guard.checkCsrf(request, form)) return refuse(response, 403, 'Refused: the form carried no valid CSRF token. Reload the page and try again.');
    const topic = form.get('topic') ?? '';
    const selection = replaySelection(form);
    if (topic === '' || selection === undefined) return refuse(response, 400, 'Say which dead letters to replay: a topic and entries (P@O), a source (topic/partition) or all.');
    const result = await deadLetters.replay(topic, selection);
    const context: PageContext = { basePath, path: '/dead-letters', readOnly, csrf: guard.csrfToken(request, response) };
    return send(response, 200, 'text/html; charset=utf-8', replayResultPage(context, topic, result).text);
  }

  async function openStream(request: IncomingMessage, response: ServerResponse): Promise<void> {
    await live.start();
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    const push = (figures: unknown) => response.write(`event: figures\ndata: ${JSON.stringify(figures)}\n\n`);
    push(live.figures());
    const unsubscribe = live.subscribe(push);
    streams.add(response);
    request.on('close', () => {
      unsubscribe();
      streams.delete(response);
    });
  }

  const handler = ((request, response, next) => {
    answer(request, response, next).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      send(response, 502, 'text/plain; charset=utf-8', `Partita Web could not read the cluster: ${message}\n`);
    });
  }) as WebHandler;
  handler.close = async () => {
    for (const stream of streams) stream.end();
    streams.clear();
    await Promise.all([live.close(), deadLetters.close(), cluster.close()]);
  };
  return handler;
}

/**
 * Starts Partita Web on its own http server (what `partita web` runs). Listens on 127.0.0.1 unless
 * `host` says otherwise, and refuses an address other hosts can reach without `auth` (a
 * {@link WebAuthRequiredError}).
 */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { host = '127.0.0.1', port = 9290, ...handlerOptions } = options;
  if (!isLoopback(host) && handlerOptions.auth === undefined) throw new WebAuthRequiredError(host);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidOptionError('startWebServer.port', `expected a port number 0..65535, got ${String(port)}`);
  const handler = createWebHandler(handlerOptions);
  const server = createServer((request, response) => handler(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}${handlerOptions.basePath ?? ''}/`,
    async close() {
      await handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const assetCache = new Map<string, Buffer>();

async function serveAsset(response: ServerResponse, name: string): Promise<void> {
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (asset === undefined) return send(response, 404, 'text/plain; charset=utf-8', 'No such asset.\n');
  let body = assetCache.get(name);
  if (body === undefined) assetCache.set(name, (body = await readFile(asset.path())));
  response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type, 'cache-control': 'public, max-age=3600' });
  response.end(body);
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

function refuse(response: ServerResponse, status: number, reason: string): void {
  send(response, status, 'text/plain; charset=utf-8', `${reason}\n`);
}

/** A whole number from a query parameter, or undefined when absent or not one. */
function wholeNumber(value: string | null): number | undefined {
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** The dead letters a replay form names: `source` (topic/partition), `all`, or `entry` values (P@O). */
function replaySelection(form: URLSearchParams): ReplaySelection | undefined {
  const source = /^(.+)\/(\d+)$/.exec(form.get('source') ?? '');
  if (source) return { source: { topic: source[1]!, partition: Number(source[2]) } };
  if (form.get('all') === 'true') return { all: true };
  const offsets = form.getAll('entry').flatMap((value) => {
    const match = /^(\d+)@(\d+)$/.exec(value);
    return match ? [{ partition: Number(match[1]), offset: Number(match[2]) }] : [];
  });
  return offsets.length === 0 ? undefined : { offsets };
}

/** The urlencoded body of a POST, at most {@link MAX_FORM_BYTES}. */
async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new InvalidOptionError('form', `a form body is at most ${MAX_FORM_BYTES} bytes`);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
