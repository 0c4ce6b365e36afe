import { expect } from 'chai';
import { inConsumerSpan } from '../../../lib/tracing/index.ts';
import { installTracing } from '../../support/tracing.ts';

const message = { topic: 'orders', partition: 1, offset: 7, key: null, headers: {} };
const job = { jobClass: 'SendEmail', jobId: 'j-1' };
const run = () => inConsumerSpan(message, 'g', job, async () => undefined);

describe('tracing: the consumer span (unit)', () => {
  it('goes to the provider registered now: one installed after the first job, and a new one after trace.disable()', async () => {
    await run();
    const first = installTracing();
    try {
      await run();
      expect(first.exporter.getFinishedSpans().map((span) => span.name)).to.deep.equal(['process orders']);
    } finally {
      await first.uninstall();
    }
    const second = installTracing();
    try {
      await run();
      await run();
      expect(second.exporter.getFinishedSpans().map((span) => span.name)).to.deep.equal(['process orders', 'process orders']);
    } finally {
      await second.uninstall();
    }
  });
});
