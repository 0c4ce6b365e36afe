import { expect } from 'chai';
import { InvalidOptionError, UnsupportedOptionError } from '../../../lib/index.ts';
import { Queue, Worker } from '../../../lib/bullmq/index.ts';
import { kafkaConnectionOf } from '../../../lib/bullmq/connection.ts';
import { backoffWaitMs, checkJobsOptions, type JobsOptions } from '../../../lib/bullmq/options.ts';

describe('partita/bullmq options (no broker)', () => {
  it('refuses options Kafka cannot honour, saying why and what to do instead', () => {
    const refused: [string, JobsOptions][] = [
      ['priority', { priority: 1 } as unknown as JobsOptions],
      ['lifo', { lifo: true } as unknown as JobsOptions],
      ['parent', { parent: { id: 'p', queue: 'q' } } as unknown as JobsOptions],
      ['deduplication', { deduplication: { id: 'd' } } as unknown as JobsOptions],
    ];
    for (const [name, opts] of refused) {
      expect(() => checkJobsOptions('Queue(mail).add(welcome).opts', opts), name)
        .to.throw(UnsupportedOptionError, `Queue(mail).add(welcome).opts.${name}`)
        .and.be.instanceOf(InvalidOptionError);
    }
    expect(() => checkJobsOptions('add.opts', { priority: 1 } as unknown as JobsOptions)).to.throw(/offset order.*queue of their own/);
    expect(() => checkJobsOptions('add.opts', { backoff: { type: 'custom' as 'fixed' } })).to.throw(UnsupportedOptionError, "use 'fixed' or 'exponential'");
    expect(() => checkJobsOptions('add.opts', { atempts: 3 } as unknown as JobsOptions)).to.throw(InvalidOptionError, 'add.opts.atempts: unknown option');
    expect(() => checkJobsOptions('add.opts', { attempts: 0 })).to.throw(InvalidOptionError, 'add.opts.attempts');
  });

  it('accepts the options without effect and sets the timestamp', () => {
    const before = Date.now();
    const opts = checkJobsOptions('add.opts', { removeOnComplete: true, removeOnFail: { count: 10 }, keepLogs: 5, stackTraceLimit: 3, attempts: 2 });
    expect(opts.timestamp).to.be.at.least(before);
    expect(checkJobsOptions('add.opts', { timestamp: 5 }).timestamp).to.equal(5);
  });

  it('computes BullMQ backoff waits: fixed, a number, exponential, jitter', () => {
    expect(backoffWaitMs(undefined, 1)).to.equal(0);
    expect(backoffWaitMs(500, 3)).to.equal(500);
    expect(backoffWaitMs({ type: 'fixed', delay: 700 }, 2)).to.equal(700);
    expect([1, 2, 3, 4].map((attempts) => backoffWaitMs({ type: 'exponential', delay: 1000 }, attempts))).to.deep.equal([1000, 2000, 4000, 8000]);
    expect(backoffWaitMs({ type: 'exponential', delay: 1000, jitter: 0.5 }, 2, () => 0)).to.equal(1000);
    expect(backoffWaitMs({ type: 'exponential', delay: 1000, jitter: 0.5 }, 2, () => 0.999)).to.equal(1999);
  });

  it('maps BullMQ connections to Kafka brokers', () => {
    expect(kafkaConnectionOf({ host: 'localhost', port: 19092 }, 'c')).to.deep.equal({ brokers: ['127.0.0.1:19092'] });
    expect(kafkaConnectionOf({ host: 'kafka-1.internal' }, 'c')).to.deep.equal({ brokers: ['kafka-1.internal:9092'] });
    expect(kafkaConnectionOf({ brokers: ['a:1', 'b:2'], clientId: 'x' }, 'c')).to.deep.equal({ brokers: ['a:1', 'b:2'], clientId: 'x' });
    expect(() => kafkaConnectionOf({ host: 'h', password: 'p' } as never, 'Queue(q).connection')).to.throw(InvalidOptionError, 'Queue(q).connection.password');
  });

  it('refuses at the call, before any broker is asked: queue and worker options, job counts without a Kafka counterpart', async () => {
    const queue = new Queue('mail', { connection: { brokers: ['127.0.0.1:1'] } });
    const error = await queue.add('welcome', {}, { lifo: true } as unknown as JobsOptions).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(UnsupportedOptionError);
    expect(String(error)).to.contain('Queue(mail).add(welcome).opts.lifo');
    const counts = await queue.getJobCounts('completed' as 'failed').catch((e: unknown) => e);
    expect(counts).to.be.instanceOf(UnsupportedOptionError);
    expect(() => new Queue('not a topic!')).to.throw(InvalidOptionError, 'Queue.name');
    const processor = async () => undefined;
    expect(() => new Worker('mail', processor, { autorun: false, limiter: { max: 1, duration: 1000 } } as never)).to.throw(UnsupportedOptionError, 'Worker(mail).opts.limiter');
    expect(() => new Worker('mail', './processor.js' as never, { autorun: false })).to.throw(UnsupportedOptionError, 'sandboxed processors');
    expect(() => new Worker('mail', processor, { autorun: false, concurrency: 0 })).to.throw(InvalidOptionError, 'Worker(mail).opts.concurrency');
  });
});
