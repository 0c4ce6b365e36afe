import { expect } from 'chai';
import { createApp } from '../../lib/app.ts';
import { Dispatcher } from '../../lib/dispatch/dispatcher.ts';
import type { MessageSender } from '../../lib/kafka/outbound-message.ts';

/**
 * The `@ts-expect-error` lines are the spec: `npx tsc -p tsconfig.json` (CI's typecheck) fails if a
 * misspelt event name or a wrong payload type compiles, i.e. if an index signature comes back.
 */
describe('event names are checked by the compiler (unit)', () => {
  it('refuses misspelt worker and dispatcher event names and wrong payloads', () => {
    const app = createApp({ kafka: { brokers: ['127.0.0.1:9'] } });
    const seen: string[] = [];
    app.on('job.failed', ({ jobClass, error }) => seen.push(`${jobClass}: ${error.message}`));
    app.on('warning', ({ kind, message }) => seen.push(`${kind}: ${message}`));
    // @ts-expect-error 'job.faild' is not a worker event
    app.on('job.faild', () => {});
    // @ts-expect-error 'job.failed' carries no `offsett`
    app.on('job.failed', ({ offsett }) => offsett);
    // @ts-expect-error emit checks the name too
    app.emit('worker.startd', { groupId: 'g', topics: [] });

    const sender: MessageSender = { connect: async () => {}, disconnect: async () => {}, send: async () => [] };
    const dispatcher = new Dispatcher(sender);
    dispatcher.on('delivery.failed', ({ attempts }) => seen.push(String(attempts)));
    // @ts-expect-error 'delivery.faild' is not a dispatcher event
    dispatcher.on('delivery.faild', () => {});

    app.emit('warning', { kind: 'topic.partitions-mismatch', topic: 't', message: 'm' });
    expect(seen).to.deep.equal(['topic.partitions-mismatch: m']);
  });
});
