import { expect } from 'chai';
import { DeliveryScope, runInDeliveryScope } from '../../../lib/dispatch/delivery-scope.ts';
import { Dispatcher } from '../../../lib/dispatch/dispatcher.ts';
import type { Delivery, MessageSender, OutboundMessage } from '../../../lib/kafka/outbound-message.ts';
import { JobsLostError } from '../../../lib/errors.ts';

/** A sender whose requests are answered by the spec: each `send` waits until `answer()` is called. */
class ControlledSender implements MessageSender {
  readonly requests: { messages: readonly OutboundMessage[]; answer: (error?: Error) => void }[] = [];
  overlapping = 0;
  #open = 0;

  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  send(messages: readonly OutboundMessage[]): Promise<Delivery[]> {
    this.#open += 1;
    if (this.#open > 1) this.overlapping += 1;
    return new Promise<Delivery[]>((resolve, reject) => {
      this.requests.push({
        messages,
        answer: (error) => {
          this.#open -= 1;
          if (error) reject(error);
          else resolve(messages.map((m, offset) => ({ topic: m.topic, partition: 0, offset })));
        },
      });
    });
  }
}

const job = (id: string): OutboundMessage => ({ topic: 'jobs', key: null, value: '{}', headers: { 'job-id': id, 'job-class': 'Spec' } });
const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('Dispatcher delivery deadline (no broker)', () => {
  it('gives up an unanswered request at deliveryTimeoutMs, names its jobs, and never overlaps the next request with it', async () => {
    const sender = new ControlledSender();
    const dispatcher = new Dispatcher(sender, { deliveryTimeoutMs: 100, lingerMs: 0 });
    const failed: string[][] = [];
    dispatcher.on('delivery.failed', ({ lost }) => failed.push(lost.map((m) => m.jobId!)));
    dispatcher.on('error', () => {});
    await dispatcher.produceAsync([job('a'), job('b')]);
    await until(() => failed.length === 1);
    expect(failed[0]).to.deep.equal(['a', 'b']);
    await dispatcher.produceAsync([job('c')]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(sender.requests, 'a request was sent while the previous one was unanswered').to.have.length(1);
    sender.requests[0]!.answer();
    await until(() => sender.requests.length === 2);
    sender.requests[1]!.answer();
    const closed = await dispatcher.close().then(() => undefined, (error: unknown) => error);
    expect(closed).to.be.instanceOf(JobsLostError);
    expect((closed as JobsLostError).lost.map((m) => m.jobId)).to.deep.equal(['a', 'b']);
    expect((closed as JobsLostError).message).to.contain('Spec a (jobs)');
    expect(sender.overlapping).to.equal(0);
  });

  it('passes a sender error to produceSync callers unchanged', async () => {
    const sender = new ControlledSender();
    const dispatcher = new Dispatcher(sender, { lingerMs: 0 });
    const thrown = new TypeError('raw sender error');
    const sent = dispatcher.produceSync([job('s')]);
    await until(() => sender.requests.length === 1);
    sender.requests[0]!.answer(thrown);
    expect(await sent.then(() => undefined, (error: unknown) => error)).to.equal(thrown);
    await dispatcher.close();
  });

  it('in a delivery scope, a mark waits for the deliveries before it and is dropped when one is lost', async () => {
    const sender = new ControlledSender();
    const dispatcher = new Dispatcher(sender, { deliveryTimeoutMs: 200, lingerMs: 0 });
    dispatcher.on('error', () => {});
    const scope = new DeliveryScope();
    const marks: string[] = [];
    await runInDeliveryScope(scope, async () => {
      await dispatcher.produceAsync([job('first')]);
      scope.afterDelivered(() => marks.push('after first'));
    });
    expect(scope.pending).to.equal(true);
    await until(() => sender.requests.length === 1);
    sender.requests[0]!.answer();
    await scope.settled();
    expect(marks).to.deep.equal(['after first']);
    await runInDeliveryScope(scope, async () => {
      await dispatcher.produceAsync([job('second')]);
      scope.afterDelivered(() => marks.push('after second'));
    });
    const outcome = await scope.delivered().then(() => undefined, (error: unknown) => error);
    expect(outcome).to.be.instanceOf(JobsLostError);
    expect((outcome as JobsLostError).lost.map((m) => m.jobId)).to.deep.equal(['second']);
    expect(marks, 'the mark after a lost delivery was applied').to.deep.equal(['after first']);
    expect(dispatcher.lost, 'a loss told to its scope is not also the process’s').to.deep.equal([]);
    sender.requests[1]?.answer();
    await dispatcher.close();
  });
});

describe('Dispatcher send policy (no broker)', () => {
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('sends async messages at the end of the turn by default, and what arrives meanwhile in one request after the answer', async () => {
    const sender = new ControlledSender();
    const dispatcher = new Dispatcher(sender);
    await Promise.all([dispatcher.produceAsync([job('a')]), dispatcher.produceAsync([job('b')])]);
    expect(sender.requests, 'sent before the end of the turn').to.have.length(0);
    await turn();
    expect(sender.requests.map((r) => r.messages.map((m) => m.headers['job-id']))).to.deep.equal([['a', 'b']]);
    for (const id of ['c', 'd', 'e']) {
      await dispatcher.produceAsync([job(id)]);
      await turn();
    }
    expect(sender.requests, 'a request overlapped the one in flight').to.have.length(1);
    sender.requests[0]!.answer();
    await until(() => sender.requests.length === 2);
    expect(sender.requests[1]!.messages.map((m) => m.headers['job-id'])).to.deep.equal(['c', 'd', 'e']);
    sender.requests[1]!.answer();
    await dispatcher.close();
    expect(sender.overlapping).to.equal(0);
  });

  it('with lingerMs, idle async messages wait for company until the linger ends or a request is full', async () => {
    const sender = new ControlledSender();
    const dispatcher = new Dispatcher(sender, { lingerMs: 60_000, batchSize: 3 });
    await dispatcher.produceAsync([job('a'), job('b')]);
    await turn();
    expect(sender.requests).to.have.length(0);
    await dispatcher.produceAsync([job('c')]);
    await turn();
    expect(sender.requests.map((r) => r.messages.length), 'a full request waited for the linger').to.deep.equal([3]);
    sender.requests[0]!.answer();
    await dispatcher.close();
  });
});
