/**
 * `partita/web`: Partita Web, the operations UI (dashboard, consumer groups, processes, errors,
 * dead letters, scheduled jobs, topics), read from Kafka alone. Mount {@link createWebHandler} in
 * an existing server, or run {@link startWebServer} (what `partita web` does).
 */
export { createWebHandler, startWebServer, type WebHandler, type WebHandlerOptions, type WebServer, type WebServerOptions } from './server.ts';
export type { WebAuth } from './security.ts';
export { WebAuthRequiredError } from '../index.ts';
