import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { configMarkdown } from '../../lib/cli/config.ts';
import { configRows, resolveConfig, ROUTE_OPTIONS, type AppConfig, type ConfigRow, type ResolvedConfig } from '../../lib/config.ts';
import { InvalidOptionError } from '../../lib/errors.ts';
import { ROUTE_DEFAULTS, RoutesBuilder } from '../../lib/routing/route.ts';

const kafka = { brokers: ['127.0.0.1:9'] };

/** The README's block after the marker line, up to the end marker. */
function readmeBlock(marker: string): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf(`<!-- partita config --markdown: ${marker} -->\n`);
  expect(start, `README has no "${marker}" table`).to.be.greaterThan(-1);
  const body = readme.slice(readme.indexOf('\n', start) + 1);
  return body.slice(0, body.indexOf('\n<!-- end of partita config --markdown -->'));
}

function refusedOption(config: unknown): string {
  try {
    resolveConfig(config as AppConfig);
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidOptionError);
    return (error as InvalidOptionError).option;
  }
  expect.fail(`resolveConfig accepted ${JSON.stringify(config)}`);
}

function valueAt(config: ResolvedConfig, row: ConfigRow): unknown {
  return row.option.split('.').reduce<unknown>((value, name) => (value as Record<string, unknown>)[name], config);
}

/** A resolved value the way the table writes a default (code in backticks). */
function asDefaultText(value: unknown): string {
  if (Array.isArray(value)) return `\`[${value.join(', ')}]\``;
  if (value !== null && typeof value === 'object') return `\`${JSON.stringify(value)}\``;
  return typeof value === 'string' ? `\`'${value}'\`` : `\`${String(value)}\``;
}

describe('resolved configuration (unit)', () => {
  it("README's app-option table is `partita config --markdown`", () => {
    expect(readmeBlock('app options')).to.equal(configMarkdown(configRows(), 'app'));
  });

  it("README's route-settings table is `partita config --markdown`", () => {
    expect(readmeBlock('route settings')).to.equal(configMarkdown(configRows(), 'routes'));
  });

  it('a default app runs with what the table says, for every option the table gives a value', () => {
    const resolved = resolveConfig({ kafka });
    const literal = configRows().filter((row) => !row.option.startsWith('routes.') && /^`[^`]*`$/.test(row.defaultText));
    expect(literal.map((row) => row.option)).to.include.members(['consumer.sessionTimeout', 'backoff.timeout', 'dispatch.lingerMs', 'kafka.connectTimeoutMs', 'maxBatchSize']);
    for (const row of literal) expect(asDefaultText(valueAt(resolved, row)), row.option).to.equal(row.defaultText);
  });

  it('resolves the derived defaults: client id from kafka.clientId, group id from the client id', () => {
    expect(resolveConfig({ kafka }).groupId).to.equal('partita');
    const fromKafka = resolveConfig({ kafka: { ...kafka, clientId: 'billing' } });
    expect([fromKafka.clientId, fromKafka.groupId, fromKafka.kafka.clientId]).to.deep.equal(['billing', 'billing', 'billing']);
    const own = resolveConfig({ kafka: { ...kafka, clientId: 'k' }, clientId: 'c', groupId: 'g' });
    expect([own.clientId, own.groupId, own.kafka.clientId]).to.deep.equal(['c', 'g', 'c']);
  });

  it('keeps what is given and fills the rest of a section', () => {
    const resolved = resolveConfig({ kafka, consumer: { sessionTimeout: 10_000 }, backoff: { exponentialBackoff: false }, dispatch: { lingerMs: 0 } });
    expect(resolved.consumer).to.deep.equal({ sessionTimeout: 10_000, rebalanceTimeout: 60_000, heartbeatInterval: 3_000, maxBytesPerPartition: 262_144, maxBytes: 2_097_152, maxWaitTimeInMs: 100 });
    expect(resolved.backoff).to.deep.equal({ timeout: 1000, maxTimeout: 30_000, exponentialBackoff: false });
    expect(resolved.dispatch.lingerMs).to.equal(0);
    expect(resolved.dispatch.batchSize).to.equal(1000);
  });

  const refused: [string, Record<string, unknown>, string][] = [
    ['a misspelt option', { kafka, maxBatchSise: 10 }, 'createApp.maxBatchSise'],
    ['a misspelt consumer option', { kafka, consumer: { sessionTimeot: 1 } }, 'createApp.consumer.sessionTimeot'],
    ['a consumer option of the wrong type', { kafka, consumer: { sessionTimeout: '30s' } }, 'createApp.consumer.sessionTimeout'],
    ['a section that is not an object', { kafka, consumer: 5 }, 'createApp.consumer'],
    ['a batch size that is not whole', { kafka, maxBatchSize: 2.5 }, 'createApp.maxBatchSize'],
    ['a buffer below one message', { kafka, maxBufferedMessages: 0 }, 'createApp.maxBufferedMessages'],
    ['a backoff flag that is not boolean', { kafka, backoff: { exponentialBackoff: 'yes' } }, 'createApp.backoff.exponentialBackoff'],
    ['a wait longer than a timer can take', { kafka, commitIntervalMs: 2 ** 31 }, 'createApp.commitIntervalMs'],
    ['a negative linger', { kafka, dispatch: { lingerMs: -1 } }, 'createApp.dispatch.lingerMs'],
    ['a client id that is not a string', { kafka, clientId: 7 }, 'createApp.clientId'],
    ['jobs that are not a list', { kafka, jobs: 'SendEmail' }, 'createApp.jobs'],
    ['handleSignals that is not boolean', { kafka, handleSignals: 1 }, 'createApp.handleSignals'],
    ['an unknown log level', { kafka, logLevel: 'loud' }, 'createApp.logLevel'],
    ['missing brokers', {}, 'createApp.kafka.brokers'],
  ];
  for (const [what, config, option] of refused) {
    it(`refuses ${what}, naming ${option}`, () => {
      expect(refusedOption(config)).to.equal(option);
    });
  }

  it('route builders fill the route settings the table lists from ROUTE_DEFAULTS', () => {
    const routes = new RoutesBuilder()
      .activeJobTopic('jobs', (t) => t.virtualPartitions({ partitioner: () => undefined }).deadLetterQueue({ topic: 'jobs.dlq' }))
      .topic('events', class {}, (t) => t.deadLetterQueue({ topic: 'events.dlq' })).routes;
    const [jobs, events] = routes;
    expect(jobs!.virtualPartitions).to.include(ROUTE_DEFAULTS.virtualPartitions);
    expect(jobs!.deadLetterQueue).to.deep.equal({ topic: 'jobs.dlq', maxRetries: 3, independent: true });
    expect(events!.deadLetterQueue!.independent).to.equal(false);
    expect(events).to.include({ initialOffset: 'earliest', longRunningJob: false, manualOffsetManagement: false, transactional: false, delayTiers: true });
    expect(ROUTE_OPTIONS['virtualPartitions.maxPartitions']!.defaultText).to.equal('`8`');
  });
});
