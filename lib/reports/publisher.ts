import { readFileSync } from 'node:fs';
import type { PartitionLoad } from '../consume/worker.ts';
import type { WorkerEmitter } from '../consume/worker-events.ts';
import type { OutboundMessage } from '../kafka/outbound-message.ts';
import { InvalidOptionError, toError } from '../errors.ts';
import { refuseUnknownOptions } from '../validation.ts';
import { ensureTopics, withAdmin } from '../kafka/admin.ts';
import type { KafkaClient as Kafka } from '../kafka/kafkajs.ts';
import { KafkaProducerSender } from '../kafka/producer.ts';
import type { Logger } from '../logging/logger.ts';
import { ReportCollector } from './collector.ts';
import { ERRORS_TOPIC, REPORTS_TOPIC } from './report.ts';
import { reportTopicSpecs } from './topics.ts';

/** `createApp({ reports })`: how the app reports on itself (see `partita/reports`). */
export interface ReportsOptions {
  /**
   * Time between two reports, in ms.
   * @defaultValue 5000
   */
  intervalMs?: number;
}

/** Longest the last report may hold up `stop()`, in ms. */
const FINAL_REPORT_TIMEOUT_MS = 5_000;

/** The default {@link ReportsOptions.intervalMs}. */
export const DEFAULT_REPORT_INTERVAL_MS = 5_000;

/** Checks `createApp({ reports })`; returns the interval, or undefined when reports are off. */
export function resolveReportsOptions(option: string, value: ReportsOptions | false | undefined): number | undefined {
  if (value === false) return undefined;
  if (value === undefined) return DEFAULT_REPORT_INTERVAL_MS;
  if (value === null || typeof value !== 'object') throw new InvalidOptionError(option, `expected false or { intervalMs }, got ${String(value)}`);
  refuseUnknownOptions(option, value, ['intervalMs']);
  const intervalMs = value.intervalMs ?? DEFAULT_REPORT_INTERVAL_MS;
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < 100) {
    throw new InvalidOptionError(`${option}.intervalMs`, `expected milliseconds >= 100, got ${String(intervalMs)}`);
  }
  return intervalMs;
}

/** Partita's version, from its package.json (two folders up from lib/reports and dist/reports). */
function partitaVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Where a publisher's data come from and where it logs. */
export interface ReportPublisherContext {
  kafka: Kafka;
  events: WorkerEmitter;
  groupId: string;
  clientId: string;
  /** The running worker's partition loads (empty while none runs). */
  loads: () => PartitionLoad[];
  /** The dead-letter topics of the routes the app runs. */
  deadLetterTopics: () => string[];
  logger: Logger;
}

/**
 * Publishes the app's {@link ReportCollector} report every interval to the reports topic, and its
 * error reports to the errors topic, from its own producer. Creates both topics on the first
 * publish. A failed publish is logged (a warning the first time in a row, then at debug) and the
 * next interval tries again: jobs never wait for, or fail because of, a report.
 */
export class ReportPublisher {
  readonly #context: ReportPublisherContext;
  readonly #collector: ReportCollector;
  readonly #intervalMs: number;
  #sender: KafkaProducerSender | undefined;
  #topicsReady = false;
  #timer: NodeJS.Timeout | undefined;
  #publishing: Promise<void> | undefined;
  #failuresInARow = 0;
  #stopped = false;

  constructor(context: ReportPublisherContext, intervalMs: number) {
    this.#context = context;
    this.#intervalMs = intervalMs;
    this.#collector = new ReportCollector(context.events, { groupId: context.groupId, clientId: context.clientId, version: partitaVersion(), intervalMs }, context.loads, context.deadLetterTopics);
  }

  /** The id this process's reports carry (see `WorkerReport.processId`). */
  get processId(): string {
    return this.#collector.processId;
  }

  /** The app created the report topics (with its own, at start): the first publish need not. */
  topicsCreated(): void {
    this.#topicsReady = true;
  }

  /** Starts the timer; the first report goes out after one interval. */
  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => {
      // A publish still under way (a slow broker) is not stacked on: this interval is skipped.
      if (!this.#publishing) this.#publishing = this.#publish(false).finally(() => (this.#publishing = undefined));
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Sends a last report (`stopping: true`, within 5 s), then stops. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#publishing;
    if (this.#timer) {
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([this.#publish(true), new Promise<void>((resolve) => (bound = setTimeout(resolve, FINAL_REPORT_TIMEOUT_MS)))]);
      clearTimeout(bound);
    }
    this.#collector.close();
    await this.#sender?.disconnect().catch(() => undefined);
  }

  async #publish(stopping: boolean): Promise<void> {
    const report = this.#collector.report(stopping);
    const errors = this.#collector.takeErrors();
    const key = this.#collector.processId;
    const messages: OutboundMessage[] = [
      ...errors.map((error) => ({ topic: ERRORS_TOPIC, key, value: JSON.stringify(error), headers: {} })),
      { topic: REPORTS_TOPIC, key, value: JSON.stringify(report), headers: {} },
    ];
    try {
      if (!this.#topicsReady) {
        await withAdmin(this.#context.kafka, (admin) => ensureTopics(admin, reportTopicSpecs()));
        this.#topicsReady = true;
      }
      if (!this.#sender) {
        const sender = new KafkaProducerSender(this.#context.kafka);
        await sender.connect();
        this.#sender = sender;
      }
      await this.#sender.send(messages);
      this.#failuresInARow = 0;
    } catch (cause) {
      this.#failuresInARow += 1;
      const fields = { err: toError(cause), topic: REPORTS_TOPIC, failuresInARow: this.#failuresInARow };
      const line = `Could not publish the worker report to ${REPORTS_TOPIC} (${errors.length} error reports lost with it); trying again in ${this.#intervalMs} ms. Jobs are not affected.`;
      if (this.#failuresInARow === 1) this.#context.logger.warn(fields, line);
      else this.#context.logger.debug(fields, line);
    }
  }
}
