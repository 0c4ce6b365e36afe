import { expect } from 'chai';
import { DeadLetterDispatch, type DeadLetterDispatchPorts } from '../../../lib/consume/dead-letter-dispatch.ts';
import { DeadLetterHeaders } from '../../../lib/consume/dead-letter.ts';
import { Message } from '../../../lib/kafka/inbound-message.ts';
import { WorkerEmitter } from '../../../lib/consume/worker-events.ts';
import { Dispatcher } from '../../../lib/dispatch/dispatcher.ts';
import type { Delivery, MessageSender, OutboundMessage } from '../../../lib/kafka/outbound-message.ts';
import { MessageTooLargeError } from '../../../lib/errors.ts';

/** A producer in memory: keeps what it was sent; `refuse` answers a send with an error instead. */
class MemorySender implements MessageSender {
  readonly sent: OutboundMessage[] = [];
  refuse: ((message: OutboundMessage) => Error | undefined) | undefined;
  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async send(messages: readonly OutboundMessage[]): Promise<Delivery[]> {
    const refused = messages.map((message) => this.refuse?.(message)).find((error) => error !== undefined);
    if (refused) throw refused;
    this.sent.push(...messages);
    return messages.map((message, offset) => ({ topic: message.topic, partition: message.partition ?? 0, offset }));
  }
}

const SETTINGS = { topic: 'orders', partition: 4, groupId: 'billing', deadLetterPartitions: 3, deadLetterMaxMessageBytes: 1_048_588 };
const failing = new Message({ topic: 'orders', partition: 4, offset: 17, key: Buffer.from('k'), value: Buffer.from('{"id":1}'), headers: { trace: 'a' }, timestamp: 0 });

function fakeDispatch(withMark?: DeadLetterDispatchPorts['withMark']) {
  const sender = new MemorySender();
  const dispatcher = new Dispatcher(sender, { lingerMs: 0 });
  const events = new WorkerEmitter();
  const seen: { name: string; payload: Record<string, unknown> }[] = [];
  for (const name of ['message.dead-lettered', 'message.skipped', 'error'] as const) {
    events.on(name, (payload) => seen.push({ name, payload: payload as unknown as Record<string, unknown> }));
  }
  const dispatch = new DeadLetterDispatch(SETTINGS, { dispatcher: () => dispatcher, events, ...(withMark ? { withMark } : {}) });
  return { dispatch, sender, seen };
}

describe('dead-letter dispatch (unit)', () => {
  it('sends the copy with its source headers, on the source partition modulo the topic partitions, and reports it sent', async () => {
    const { dispatch, sender, seen } = fakeDispatch();
    expect(await dispatch.dispatch(failing, { action: 'dead-letter', topic: 'orders.dlq', attempts: 4 }, new TypeError('bad'))).to.equal(true);
    expect(sender.sent).to.have.length(1);
    const copy = sender.sent[0]!;
    expect(copy).to.include({ topic: 'orders.dlq', partition: 1 });
    expect(copy.headers).to.include({
      trace: 'a',
      [DeadLetterHeaders.sourceOffset]: '17',
      [DeadLetterHeaders.sourceAttempts]: '4',
      [DeadLetterHeaders.sourceConsumerGroup]: 'billing',
      [DeadLetterHeaders.errorClass]: 'TypeError',
    });
    expect(seen.map(({ name }) => name)).to.deep.equal(['message.dead-lettered']);
    expect(seen[0]!.payload).to.include({ offset: 17, attempts: 4, deadLetterTopic: 'orders.dlq' });
  });

  it('a skip sends nothing and reports the message skipped', async () => {
    const { dispatch, sender, seen } = fakeDispatch();
    expect(await dispatch.dispatch(failing, { action: 'skip', attempts: 2 }, new Error('x'))).to.equal(true);
    expect(sender.sent).to.deep.equal([]);
    expect(seen.map(({ name, payload }) => [name, payload.offset])).to.deep.equal([['message.skipped', 17]]);
  });

  it('a copy the broker refuses for its size goes once more as the smallest copy, reported as reduced', async () => {
    const { dispatch, sender, seen } = fakeDispatch();
    sender.refuse = (message) => (message.value === null ? undefined : Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' }));
    expect(await dispatch.dispatch(failing, { action: 'dead-letter', topic: 'orders.dlq', attempts: 1 }, new Error('x'))).to.equal(true);
    expect(sender.sent).to.have.length(1);
    expect(sender.sent[0]!.headers[DeadLetterHeaders.dropped]).to.equal('value,headers,key');
    expect(seen.map(({ name, payload }) => [name, payload.kind])).to.deep.equal([
      ['error', 'dead-letter-reduced'],
      ['message.dead-lettered', undefined],
    ]);
    expect((seen[0]!.payload.error as Error)).to.be.instanceOf(MessageTooLargeError).with.property('message').that.matches(/orders\/4@17.*orders\.dlq/);
  });

  it('a dispatch that fails is reported and answers false (the message stays); another refusal is not retried smaller', async () => {
    const { dispatch, sender, seen } = fakeDispatch();
    let tries = 0;
    sender.refuse = () => {
      tries += 1;
      return new Error('broker down');
    };
    expect(await dispatch.dispatch(failing, { action: 'dead-letter', topic: 'orders.dlq', attempts: 1 }, new Error('x'))).to.equal(false);
    expect(tries).to.equal(1);
    expect(seen.map(({ name, payload }) => [name, payload.kind, (payload.error as Error).message])).to.deep.equal([['error', 'dead-letter-dispatch', 'broker down']]);
  });

  it('a transactional route sends the copy inside the mark\'s transaction; a failed transaction is a failed dispatch', async () => {
    const order: string[] = [];
    let commit = true;
    const { dispatch, sender, seen } = fakeDispatch(async (message, send) => {
      order.push(`begin:${message.offset}`);
      await send();
      order.push(`sent:${sender.sent.length}`);
      if (!commit) throw new Error('fenced');
      order.push('commit');
    });
    expect(await dispatch.dispatch(failing, { action: 'dead-letter', topic: 'orders.dlq', attempts: 1 }, new Error('x'))).to.equal(true);
    expect(order).to.deep.equal(['begin:17', 'sent:1', 'commit']);
    commit = false;
    expect(await dispatch.dispatch(failing, { action: 'dead-letter', topic: 'orders.dlq', attempts: 2 }, new Error('x'))).to.equal(false);
    expect(seen.map(({ name }) => name)).to.deep.equal(['message.dead-lettered', 'error']);
  });
});
