import { expect } from 'chai';
import { Job } from '../../../lib/job/job.ts';
import { JobRegistry } from '../../../lib/job/registry.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const at = { topic: 't', partition: 0, offset: 7 };

describe('job registry (unit)', () => {
  it("rebuilds a job with its envelope's id from the start: the constructor already sees it, no uuid is made for it", () => {
    const seen: string[] = [];
    class SendEmail extends Job<[string]> {
      constructor(...args: [string]) {
        super(...args);
        seen.push(this.jobId);
      }
      perform() {}
    }
    const job = new JobRegistry([SendEmail]).instantiate({ ...sampleEnvelope(['u-1']), job_id: 'envelope-id', executions: 2 }, at);
    expect(seen).to.deep.equal(['envelope-id']);
    expect(job.jobId).to.equal('envelope-id');
    expect(job.arguments).to.deep.equal(['u-1']);
    expect(job.executions).to.equal(2);
    expect(job.topic).to.equal('t');
  });

  it("gives a job its rebuilt job's constructor makes, and every later job, a new uuid", () => {
    const made: Job<any[]>[] = [];
    class Step extends Job<[]> {
      perform() {}
    }
    class SendEmail extends Job<[string]> {
      constructor(...args: [string]) {
        super(...args);
        made.push(new Step());
      }
      perform() {}
    }
    new JobRegistry([SendEmail]).instantiate({ ...sampleEnvelope(['u-1']), job_id: 'envelope-id' }, at);
    const later = new Step();
    expect(made[0]!.jobId).to.match(UUID);
    expect(later.jobId).to.match(UUID);
    expect(later.jobId).to.not.equal(made[0]!.jobId);
  });

  it('leaves no id behind when a rebuilt constructor throws', () => {
    const refuse = (): never => {
      throw new Error('no');
    };
    class Broken extends Job<[unknown]> {
      constructor() {
        // Throws before super(): the id given for it is never taken.
        super(refuse());
      }
      perform() {}
    }
    expect(() => new JobRegistry([Broken]).instantiate({ ...sampleEnvelope([]), job_class: 'Broken', job_id: 'envelope-id' }, at)).to.throw('no');
    class Step extends Job<[]> {
      perform() {}
    }
    expect(new Step().jobId).to.match(UUID);
  });
});
