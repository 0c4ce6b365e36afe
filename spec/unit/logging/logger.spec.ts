import { expect } from 'chai';
import { createApp } from '../../../lib/app.ts';
import { WorkerEmitter } from '../../../lib/consume/worker-events.ts';
import { BadMessageError, ConsumerRestartError, InvalidOptionError, UnrecoverableError } from '../../../lib/errors.ts';
import { kafkaLogCreator } from '../../../lib/kafka/kafka-log.ts';
import { logLevel } from '../../../lib/kafka/kafkajs.ts';
import { createLogger, type LogFields, type Logger } from '../../../lib/logging/logger.ts';
import { formatTextLine } from '../../../lib/logging/text-format.ts';
import { logWorkerEvents } from '../../../lib/consume/worker-log.ts';
import { delayTopics } from '../../../lib/schedule/tiers.ts';

type Line = { level: string; fields: LogFields; message: string };

/** A logger that keeps what it is given. */
function recordingLogger(debug = false): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (fields: LogFields, message: string) => lines.push({ level, fields, message });
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), isLevelEnabled: (level) => debug || level !== 'debug' };
}

function captured(options: Parameters<typeof createLogger>[0] = {}): { logger: Logger; output: string[] } {
  const output: string[] = [];
  return { logger: createLogger({ ...options, destination: { write: (chunk: string) => output.push(chunk) } }), output };
}

describe('logging (unit)', () => {
  const ref = { topic: 'billing', partition: 2 };

  it('text format: time, level, message, then the stack frames indented; the error header is not repeated', () => {
    const { logger, output } = captured({ level: 'info', format: 'text' });
    const error = new RangeError('no customer\nfor invoice 7');
    logger.error({ err: error }, 'job ChargeInvoice 1 failed: RangeError: no customer');
    logger.debug({}, 'not written at info');
    expect(output).to.have.length(1);
    const [first, ...rest] = output[0]!.trimEnd().split('\n');
    expect(first).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR job ChargeInvoice 1 failed: RangeError: no customer$/);
    expect(rest.length).to.be.greaterThan(0);
    for (const line of rest) expect(line).to.match(/^ {4}\S/);
    expect(rest[0]).to.match(/^ {4}at /);
    expect(output[0]).to.not.contain('for invoice 7');
  });

  it('text format: causes keep their stacks; multi-line messages stay under their level; other lines pass through', () => {
    const line = formatTextLine(JSON.stringify({ level: 40, time: 0, msg: 'one\ntwo', err: { stack: 'Error: outer\n    at a (x.ts:1:1)\ncaused by: Error: inner\n    at b (y.ts:2:2)' } }));
    expect(line).to.equal('1970-01-01T00:00:00.000Z WARN  one\n    two\n    at a (x.ts:1:1)\n    caused by: Error: inner\n    at b (y.ts:2:2)\n');
    expect(formatTextLine('plain text\n')).to.equal('plain text\n');
  });

  it('json format: one pino record a line with the fields and the serialized error', () => {
    const { logger, output } = captured({ level: 'debug', format: 'json' });
    logger.error({ jobClass: 'SendEmail', attempt: 2, err: new Error('smtp down') }, 'job failed');
    const record = JSON.parse(output[0]!) as Record<string, unknown> & { err: { type: string; message: string; stack: string } };
    expect(record).to.include({ level: 50, name: 'partita', msg: 'job failed', jobClass: 'SendEmail', attempt: 2 });
    expect(record.err).to.include({ type: 'Error', message: 'smtp down' });
    expect(record.err.stack).to.match(/^Error: smtp down\n\s+at /);
  });

  it('levels and formats are checked by name, from options and from the environment', () => {
    expect(() => createLogger({ level: 'loud' as never })).to.throw(InvalidOptionError, /createLogger\.level.*expected one of fatal, error, warn, info, debug, trace, silent, got "loud"/);
    expect(() => createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, logLevel: 'verbose' as never })).to.throw(InvalidOptionError, /createApp\.logLevel/);
    expect(() => createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, logger: recordingLogger(), logLevel: 'warn' })).to.throw(InvalidOptionError, /either logger .* or logLevel/);
    expect(() => createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, logger: { info() {} } as never })).to.throw(InvalidOptionError, /createApp\.logger.*error is missing/);
    const previous = { level: process.env.PARTITA_LOG_LEVEL, format: process.env.PARTITA_LOG_FORMAT };
    try {
      process.env.PARTITA_LOG_LEVEL = 'chatty';
      expect(() => createLogger()).to.throw(InvalidOptionError, /PARTITA_LOG_LEVEL.*got "chatty"/);
      process.env.PARTITA_LOG_LEVEL = 'warn';
      process.env.PARTITA_LOG_FORMAT = 'xml';
      expect(() => createLogger()).to.throw(InvalidOptionError, /PARTITA_LOG_FORMAT.*expected one of text, json/);
      process.env.PARTITA_LOG_FORMAT = 'json';
      const output: string[] = [];
      const logger = createLogger({ destination: { write: (chunk: string) => output.push(chunk) } });
      logger.info({}, 'below warn');
      logger.warn({}, 'at warn');
      expect(output.map((line) => (JSON.parse(line) as { msg: string }).msg)).to.deep.equal(['at warn']);
    } finally {
      for (const [name, value] of [['PARTITA_LOG_LEVEL', previous.level], ['PARTITA_LOG_FORMAT', previous.format]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('the app logs through an injected pino-compatible logger', () => {
    const logger = recordingLogger();
    const app = createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, logger });
    expect(app.logger).to.equal(logger);
    app.emit('worker.started', { groupId: 'g', topics: ['billing'] });
    expect(logger.lines).to.deep.equal([{ level: 'info', fields: { event: 'worker.started', groupId: 'g', topics: ['billing'] }, message: 'worker started in group g, consuming billing' }]);
  });

  it('kafkajs lines keep their level, except retriable rebalance, coordinator and not-yet-known topic errors, which are debug', () => {
    const logger = recordingLogger(true);
    const write = kafkaLogCreator(logger)(logLevel.WARN);
    const entry = (level: number, message: string, extra: Record<string, unknown>) => ({ namespace: 'Connection', level, label: '', log: { timestamp: 'now', logger: 'kafkajs', message, ...extra } });
    write(entry(logLevel.ERROR, 'Response Heartbeat(key: 12, version: 3)', { error: 'The group is rebalancing, so a rejoin is needed' }));
    write(entry(logLevel.ERROR, 'Response GroupCoordinator(key: 10, version: 2)', { error: 'The group coordinator is not available' }));
    write(entry(logLevel.ERROR, 'Response FindCoordinator(key: 10, version: 2)', { error: "The coordinator is loading and hence can't process requests for this group" }));
    write(entry(logLevel.WARN, 'The group is rebalancing, re-joining', { error: 'The group is rebalancing, so a rejoin is needed' }));
    write(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9', { broker: '127.0.0.1:9', stack: 'Error: connect ECONNREFUSED\n    at x' }));
    write(entry(logLevel.WARN, 'Response Metadata(key: 3, version: 6)', { error: 'This server does not host this topic-partition' }));
    write(entry(logLevel.INFO, 'Consumer has joined the group', { groupId: 'g' }));
    const concurrent = 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
    write(entry(logLevel.ERROR, `Failed to send messages: ${concurrent}`, { retryCount: 0 }));
    write(entry(logLevel.ERROR, concurrent, { retryCount: 1 }));
    const crash = (message: string) => ({ ...entry(logLevel.ERROR, message, { groupId: 'g' }), namespace: 'Consumer' });
    write(crash('Crash: KafkaJSGroupCoordinatorNotFound: Failed to find group coordinator'));
    write(crash('Restarting the consumer in 300ms'));
    expect(logger.lines.map((line) => line.level)).to.deep.equal(['debug', 'debug', 'debug', 'debug', 'error', 'debug', 'info', 'debug', 'debug', 'debug', 'debug']);
    expect(logger.lines[0]!.message).to.equal('kafkajs [Connection] Response Heartbeat(key: 12, version: 3) {"error":"The group is rebalancing, so a rejoin is needed"}');
    expect(logger.lines[4]!.fields).to.deep.equal({ component: 'kafkajs', namespace: 'Connection', broker: '127.0.0.1:9', stack: 'Error: connect ECONNREFUSED\n    at x' });
    expect(logger.lines[4]!.message).to.not.contain('stack');
  });

  it('a failing job is one error line with class, id, where, attempt and the error; what follows is said once, without the stack again', () => {
    const events = new WorkerEmitter();
    const logger = recordingLogger();
    logWorkerEvents(events, logger);
    const error = new TypeError('cannot read x');
    events.emit('job.failed', { ...ref, offset: 7, lane: 1, jobId: 'j-1', jobClass: 'ChargeInvoice', attempt: 2, revoked: false, error });
    events.emit('lane.finished', { ...ref, lane: 1, size: 3, at: 0, error });
    events.emit('lane.finished', { ...ref, lane: 1, size: 3, at: 0, error: new UnrecoverableError('gave up', { cause: error }) });
    events.emit('batch.failed', { ...ref, firstOffset: 5, lastOffset: 9, error, attempt: 2, retryInMs: 2000 });
    events.emit('message.dead-lettered', { ...ref, offset: 7, attempts: 3, error, deadLetterTopic: 'billing.dlq', dropped: [] });
    events.emit('message.dead-lettered', { ...ref, offset: 8, attempts: 1, error, deadLetterTopic: 'billing.dlq', dropped: ['value', 'headers'] });
    expect(logger.lines.map(({ level, message }) => [level, message])).to.deep.equal([
      ['error', 'job ChargeInvoice j-1 failed at billing/2@7 (attempt 2): TypeError: cannot read x'],
      ['warn', 'billing/2: batch 5..9 failed (attempt 2: TypeError: cannot read x); pausing the partition 2000 ms, then retrying its unfinished messages collapsed, in offset order'],
      ['warn', 'billing/2@7 dead-lettered to billing.dlq after 3 failed attempts: TypeError: cannot read x'],
      ['warn', 'billing/2@8 dead-lettered to billing.dlq (the copy leaves out its value and headers to fit the topic) after 1 failed attempt: TypeError: cannot read x'],
    ]);
    expect(logger.lines[0]!.fields).to.deep.include({ jobClass: 'ChargeInvoice', jobId: 'j-1', topic: 'billing', partition: 2, offset: 7, attempt: 2, err: error });
  });

  it('a plain consumer failure is logged from its lane; bad input once, from job.failed, not again from its error event; a crash the worker recovers from is a warning', () => {
    const events = new WorkerEmitter();
    const logger = recordingLogger();
    logWorkerEvents(events, logger);
    const consumerError = new Error('db down');
    events.emit('lane.finished', { ...ref, lane: 0, size: 4, at: 0, error: consumerError });
    const bad = new BadMessageError('not-json', { ...ref, offset: 3 }, 'the value is not JSON');
    events.emit('job.failed', { ...ref, offset: 3, lane: 0, jobId: undefined, jobClass: undefined, attempt: 1, revoked: false, error: bad });
    events.emit('error', { error: bad, ...ref, offset: 3, kind: 'not-json' });
    events.emit('error', { error: new Error('commit refused'), kind: 'engine' });
    const noCoordinator = Object.assign(new Error('Failed to find group coordinator'), { name: 'KafkaJSGroupCoordinatorNotFound' });
    events.emit('error', { error: noCoordinator, kind: 'consumer-crash' });
    events.emit('error', { error: new ConsumerRestartError('A new consumer for group "g" could not start (attempt 1): no broker. Trying again in 2000 ms.'), kind: 'consumer-crash' });
    const uncommitted = new Error('the batch transaction did not commit');
    events.emit('batch.failed', { ...ref, firstOffset: 0, lastOffset: 3, error: uncommitted, attempt: 1, retryInMs: 1000 });
    expect(logger.lines.map(({ level, message }) => [level, message])).to.deep.equal([
      ['error', 'consumer of billing/2 (lane 0, 4 messages) failed: Error: db down'],
      ['error', `message failed at billing/2@3 (attempt 1): BadMessageError: ${bad.message}`],
      ['error', 'engine: Error: commit refused'],
      ['warn', "the consumer left the group after KafkaJSGroupCoordinatorNotFound: Failed to find group coordinator; it joins again, and its partitions' unfinished work runs again from the committed offsets"],
      ['error', 'consumer-crash: ConsumerRestartError: A new consumer for group "g" could not start (attempt 1): no broker. Trying again in 2000 ms.'],
      ['error', 'billing/2: batch 0..3 failed (attempt 1: Error: the batch transaction did not commit); pausing the partition 1000 ms, then retrying its unfinished messages collapsed, in offset order'],
    ]);
    expect(logger.lines[0]!.fields.err).to.equal(consumerError);
  });

  it('work cut short by a revocation is info, without a stack: it runs again on the next owner', () => {
    const events = new WorkerEmitter();
    const logger = recordingLogger();
    logWorkerEvents(events, logger);
    const aborted = new Error('aborted');
    events.emit('job.failed', { ...ref, offset: 9, lane: 0, jobId: 'j-9', jobClass: 'Export', attempt: 1, revoked: true, error: aborted });
    events.emit('lane.finished', { ...ref, lane: 0, size: 2, at: 0, error: aborted, revoked: true });
    events.emit('lane.finished', { ...ref, lane: 3, size: 5, at: 0, error: new Error('the transaction did not start'), revoked: true });
    expect(logger.lines.map(({ level, message }) => [level, message])).to.deep.equal([
      ['info', "job Export j-9 at billing/2@9 ended when its partition was revoked (Error: aborted); it runs again on the partition's next owner"],
      ['info', "consumer of billing/2 (lane 3) ended when the partition was revoked (Error: the transaction did not start); its messages run again on the partition's next owner"],
    ]);
  });

  it('start, rebalance, stop progress, stop, warnings, discards and retries are info or warn; per-job success only at debug', () => {
    const events = new WorkerEmitter();
    const logger = recordingLogger();
    logWorkerEvents(events, logger);
    events.emit('worker.started', { groupId: 'g', topics: ['billing', ...delayTopics('billing'), 'events'] });
    events.emit('group.rebalanced', { groupId: 'g', assigned: [{ topic: 'billing', partition: 2 }, { topic: 'billing', partition: 0 }], revoked: [{ topic: 'events', partition: 1 }], kept: [{ topic: 'events', partition: 0 }] });
    events.emit('group.rebalanced', { groupId: 'g', assigned: [], revoked: [], kept: [{ topic: 'events', partition: 0 }] });
    events.emit('worker.stopping', { groupId: 'g', runningJobs: 2, runningConsumers: 1, timeoutMs: 30_000 });
    events.emit('worker.stopping', { groupId: 'g', runningJobs: 0, runningConsumers: 8, timeoutMs: 2500 });
    events.emit('worker.stopped', { groupId: 'g', unfinished: 1 });
    events.emit('warning', { message: 'billing has 1 partition, config() asks for 6', kind: 'partitions', topic: 'billing' });
    events.emit('job.discarded', { ...ref, offset: 4, lane: 0, jobId: 'j-4', jobClass: 'SyncCrm', error: new Error('account deleted') });
    events.emit('job.scheduled', { ...ref, offset: 5, lane: 0, jobId: 'j-5', jobClass: 'SyncCrm', scheduledAt: new Date(0), delayTopic: 'billing.delay.5s', reason: 'retry' });
    events.emit('job.performed', { ...ref, offset: 6, lane: 0, jobId: 'j-6', jobClass: 'SyncCrm', executions: 1, startedAt: 0, finishedAt: 5 });
    expect(logger.lines.map(({ level, message }) => [level, message])).to.deep.equal([
      ['info', 'worker started in group g, consuming billing (and its 9 delay tiers), events'],
      ['info', 'rebalanced: gained billing[0,2]; lost events[1]; now 3 partitions'],
      ['debug', 'rebalanced: this worker keeps its 1 partition'],
      ['info', 'stopping: waiting for 2 running jobs and 1 running consumer batch, up to 30 s'],
      ['info', 'stopping: waiting for 8 running consumer batches, up to 2.5 s'],
      ['warn', 'worker stopped (group g) with 1 partition still running at the shutdown timeout; their unfinished jobs run again on the next owner'],
      ['warn', 'billing has 1 partition, config() asks for 6'],
      ['info', 'job SyncCrm j-4 at billing/2@4 discarded (discardOn): Error: account deleted'],
      ['info', 'job SyncCrm j-5 will be retried at 1970-01-01T00:00:00.000Z (retryOn wait, through billing.delay.5s)'],
    ]);
    const verbose = recordingLogger(true);
    const more = new WorkerEmitter();
    logWorkerEvents(more, verbose);
    more.emit('job.performed', { ...ref, offset: 6, lane: 0, jobId: 'j-6', jobClass: 'SyncCrm', executions: 1, startedAt: 0, finishedAt: 5 });
    more.emit('group.rebalancing', { groupId: 'g' });
    expect(verbose.lines.map(({ level, message }) => [level, message])).to.deep.equal([
      ['debug', 'job SyncCrm j-6 at billing/2@6 performed in 5 ms'],
      ['debug', 'group g is rebalancing; commits wait for the rejoin'],
    ]);
  });
});
