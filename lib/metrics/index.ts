/**
 * `partita/metrics`: Prometheus metrics of a worker app through prom-client. Turn them on with
 * `createApp({ metrics: { port: 9464 } })` (serves `/metrics` on 127.0.0.1) or
 * `createApp({ metrics: true })` and mount `app.metrics.handler` in your own http server.
 */
export { PartitaMetrics, type MetricsOptions } from './metrics.ts';
