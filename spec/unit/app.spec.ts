import { expect } from 'chai';
import { createApp, type AppConfig } from '../../lib/app.ts';
import { InvalidOptionError } from '../../lib/errors.ts';

const kafka = { brokers: ['127.0.0.1:9'] };

function refusedOption(config: unknown): string {
  try {
    createApp(config as AppConfig);
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidOptionError);
    return (error as InvalidOptionError).option;
  }
  expect.fail('createApp accepted an unknown option');
}

describe('createApp options (unit)', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['a top-level option', { kafka, groupID: 'g' }, 'createApp.groupID'],
    ['a kafka option', { kafka: { ...kafka, broker: 'x' } }, 'createApp.kafka.broker'],
    ['a consumer option', { kafka, consumer: { sessionTimeot: 1000 } }, 'createApp.consumer.sessionTimeot'],
    ['a consumer groupId (set on the app, not the consumer)', { kafka, consumer: { groupId: 'g' } }, 'createApp.consumer.groupId'],
    ['a dispatch option', { kafka, dispatch: { lingerMS: 5 } }, 'createApp.dispatch.lingerMS'],
    ['a backoff option', { kafka, backoff: { timeout: 1, exponential: true } }, 'createApp.backoff.exponential'],
    ['the former name of backoff', { kafka, pause: { timeout: 1 } }, 'createApp.pause'],
  ];
  for (const [what, config, option] of cases) {
    it(`refuses ${what} by name (${option})`, () => {
      expect(refusedOption(config)).to.equal(option);
    });
  }

  it('names the known options in the message', () => {
    expect(() => createApp({ kafka, shutdownTimeout: 5 } as unknown as AppConfig)).to.throw(/createApp\.shutdownTimeout: unknown option \(known: .*shutdownTimeoutMs/);
  });

  it('accepts every documented option', () => {
    const app = createApp({
      clientId: 'c',
      kafka: { ...kafka, clientId: 'k', logLevel: 'error', client: {}, connectTimeoutMs: 5000 },
      groupId: 'g',
      jobs: [],
      consumer: { sessionTimeout: 10_000, rebalanceTimeout: 20_000, heartbeatInterval: 1000, maxBytesPerPartition: 1024, maxWaitTimeInMs: 100 },
      backoff: { timeout: 1, maxTimeout: 2, exponentialBackoff: false },
      maxBufferedMessages: 10,
      maxBatchSize: 10,
      commitIntervalMs: 10,
      shutdownTimeoutMs: 10,
      discoveryIntervalMs: 10,
      dispatch: { batchSize: 1, batchBytes: 1000, lingerMs: 1, maxBufferedMessages: 1, maxMessageBytes: 1000, deliveryTimeoutMs: 1000, retryBackoffMs: 1 },
      transactionalIdPrefix: 'p-',
      handleSignals: false,
    });
    expect(app.groupId).to.equal('g');
  });

  it('refuses a connectTimeoutMs that is not a positive number', () => {
    expect(refusedOption({ kafka: { ...kafka, connectTimeoutMs: 0 } })).to.equal('createApp.kafka.connectTimeoutMs');
  });
});
