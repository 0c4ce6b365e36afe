import { expect } from 'chai';
import { InvalidOptionError } from '../../../lib/errors.ts';
import { Job, jobOptionsOf } from '../../../lib/job/job.ts';
import type { JobOptions } from '../../../lib/job/job.ts';
import { JobRegistry } from '../../../lib/job/registry.ts';

describe('job options (unit, J6)', () => {
  const define = (options: unknown) =>
    class Broken extends Job<[]> {
      static override options = options as never;
      perform() {}
    };

  const cases: [string, unknown, string][] = [
    ['unknown dispatch method', { topic: 'x', dispatchMethod: 'produceLater' }, 'Broken.options.dispatchMethod'],
    ['partitioner not a function', { topic: 'x', partitioner: 'user' }, 'Broken.options.partitioner'],
    ['empty topic', { topic: '' }, 'Broken.options.topic'],
    ['invalid topic name', { topic: 'a b' }, 'Broken.options.topic'],
    ['unknown option', { topic: 'x', queue: 'y' }, 'Broken.options.queue'],
    ['unknown dispatchManyMethod', { dispatchManyMethod: 'all' }, 'Broken.options.dispatchManyMethod'],
  ];
  for (const [name, options, option] of cases) {
    it(`rejects ${name}, naming ${option}`, () => {
      const jobClass = define(options);
      expect(() => jobOptionsOf(jobClass)).to.throw(InvalidOptionError, option);
      expect(() => new JobRegistry([jobClass])).to.throw(InvalidOptionError, option);
    });
  }

  it('rejects bad options at first use (performLater), before anything is sent', async () => {
    const jobClass = define({ dispatchMethod: 'nope' });
    let error: unknown;
    try {
      await jobClass.performLater();
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(InvalidOptionError);
    expect((error as Error).message).to.contain('Broken.options.dispatchMethod');
  });

  it('rejects a partitioner that returns a non-string, naming it', async () => {
    class BadKey extends Job<[number]> {
      static override options = { topic: 'x', partitioner: (job: Job<any[]>) => job.arguments[0] as never };
      perform() {}
    }
    let error: unknown;
    try {
      await BadKey.performLater(5);
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).to.contain('BadKey.options.partitioner');
  });

  it('inherits options from parent classes and applies defaults', () => {
    class Base extends Job<[]> {
      static override options: JobOptions = { topic: 'base', dispatchMethod: 'produceSync' };
      perform() {}
    }
    class Child extends Base {
      static override options = { topic: 'child' };
    }
    expect(jobOptionsOf(Child)).to.include({ topic: 'child', dispatchMethod: 'produceSync', dispatchManyMethod: 'produceManyAsync' });
  });

  it('refuses two classes with one name in a registry', () => {
    const a = class Same extends Job<[]> { perform() {} };
    const b = class Same extends Job<[]> { perform() {} };
    expect(() => new JobRegistry([a, b])).to.throw(InvalidOptionError, 'two different job classes are named "Same"');
  });

  it('set() rejects unknown overrides', () => {
    class Ok extends Job<[]> {
      perform() {}
    }
    expect(() => Ok.set({ topik: 'x' } as never)).to.throw(InvalidOptionError, 'Ok.set().topik');
  });
});
