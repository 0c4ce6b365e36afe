import { pino } from 'pino';
import { InvalidOptionError } from '../errors.ts';
import { formatTextLine } from './text-format.ts';

/** Structured fields of one log record (`err` holds an Error). */
export type LogFields = Record<string, unknown>;

/**
 * What Partita logs through: the level methods of a pino logger, called pino's way,
 * `logger.error({ err, topic, offset }, 'message')`. Any pino logger (or child) fits, and so does
 * any object with these methods.
 */
export interface Logger {
  /** Logs a failure: `fields` are the record's data (event, topic, error, ...), `message` its text. */
  error(fields: LogFields, message: string): void;
  /** Logs something that works, but not as configured or expected. */
  warn(fields: LogFields, message: string): void;
  /** Logs what the app does (start, stop, rebalances, dead letters). */
  info(fields: LogFields, message: string): void;
  /** Logs details (batches, lanes, pauses). */
  debug(fields: LogFields, message: string): void;
  /** pino's level check. Without it, Partita assumes debug is off and does not build debug records. */
  isLevelEnabled?(level: string): boolean;
}

/** Levels of Partita's logger (pino's), most severe first; `silent` writes nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A level of Partita's logger. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `text`: one human-readable line a record (stacks indented below it). `json`: pino's NDJSON. */
export const LOG_FORMATS = ['text', 'json'] as const;
/** How Partita's logger writes records. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Settings of {@link createLogger}. */
export interface LoggerOptions {
  /**
   * The least severe level written.
   * @defaultValue `PARTITA_LOG_LEVEL`, else `'info'`
   */
  level?: LogLevel;
  /**
   * `text` for people at a terminal, `json` for log collectors.
   * @defaultValue `PARTITA_LOG_FORMAT`, else `'text'`
   */
  format?: LogFormat;
  /**
   * Where lines are written, synchronously: nothing is buffered, so nothing is lost at exit.
   * @defaultValue `process.stderr`
   */
  destination?: {
    /** Writes one log line. */
    write(chunk: string): unknown;
  };
}

function choose<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === '') return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidOptionError(name, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

/** The level `PARTITA_LOG_LEVEL` asks for, else `info`; an unknown value is refused by name. */
export function levelFromEnvironment(): LogLevel {
  return choose('PARTITA_LOG_LEVEL', process.env.PARTITA_LOG_LEVEL, LOG_LEVELS, 'info');
}

/**
 * Creates Partita's logger: pino, writing synchronously to stderr, as text lines
 * (`2026-01-31T12:00:00.000Z ERROR job SendEmail 42 failed ...`) or as JSON.
 * @param option name used in errors, e.g. `createApp.logLevel`
 */
export function createLogger(options: LoggerOptions = {}, option = 'createLogger'): Logger {
  const level = options.level === undefined ? levelFromEnvironment() : choose(`${option}.level`, options.level, LOG_LEVELS, 'info');
  const format = options.format === undefined
    ? choose('PARTITA_LOG_FORMAT', process.env.PARTITA_LOG_FORMAT, LOG_FORMATS, 'text')
    : choose(`${option}.format`, options.format, LOG_FORMATS, 'text');
  const destination = options.destination ?? process.stderr;
  const stream = format === 'json' ? destination : { write: (line: string) => destination.write(formatTextLine(line)) };
  return pino({ name: 'partita', level }, stream);
}

let processLogger: Logger | undefined;

/**
 * The process's logger (made on first use from `PARTITA_LOG_LEVEL` and `PARTITA_LOG_FORMAT`): what
 * apps and `configure()` log through unless given a `logger` or a `logLevel`.
 */
export function defaultLogger(): Logger {
  processLogger ??= createLogger({}, 'defaultLogger');
  return processLogger;
}

/** The logger an app or `configure()` uses: `logger`, else one at `logLevel`, else the process's. */
export function resolveLogger(logger: Logger | undefined, logLevel: LogLevel | undefined, option: string): Logger {
  if (logger !== undefined && logLevel !== undefined) {
    throw new InvalidOptionError(`${option}.logLevel`, 'give either logger (which has its own level) or logLevel, not both');
  }
  if (logger !== undefined) {
    for (const method of ['error', 'warn', 'info', 'debug'] as const) {
      if (typeof (logger as unknown as Record<string, unknown>)?.[method] !== 'function') {
        throw new InvalidOptionError(`${option}.logger`, `expected a pino-compatible logger with error, warn, info and debug methods; ${method} is missing`);
      }
    }
    return logger;
  }
  if (logLevel === undefined) return defaultLogger();
  return createLogger({ level: choose(`${option}.logLevel`, logLevel, LOG_LEVELS, 'info') }, option);
}
