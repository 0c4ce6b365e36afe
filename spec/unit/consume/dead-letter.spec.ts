import { expect } from 'chai';
import { DeadLetterHeaders, deadLetterMaxBytes, deadLetterMessage, recordBatchBytes, replayMessage, smallestDeadLetterCopy } from '../../../lib/consume/dead-letter.ts';
import { Message } from '../../../lib/kafka/inbound-message.ts';
import { messageBytes } from '../../../lib/kafka/outbound-message.ts';
import { PartitaError } from '../../../lib/errors.ts';

function message(value: number, options: { headerBytes?: number; keyBytes?: number } = {}): Message {
  const headers: Record<string, string> = { 'job-class': 'Big', trace: 't'.repeat(options.headerBytes ?? 10) };
  return new Message({ topic: 'orders', partition: 2, offset: 41, key: Buffer.from('k'.repeat(options.keyBytes ?? 8)), value: Buffer.alloc(value, 1), headers, timestamp: 0 });
}

const context = { groupId: 'g', attempts: 4, error: new Error('e'.repeat(5000)) };
const target = { topic: 'orders.dlq', partitions: 3, maxBytes: deadLetterMaxBytes(1_000_000, 1_048_588) };

describe('dead-letter copies that fit their topic (unit)', () => {
  it('a copy that fits is whole: original key, value and headers, the error cut to 2000 characters', () => {
    const copy = deadLetterMessage(message(1000), target, context);
    expect(copy.dropped).to.deep.equal([]);
    expect(copy.message.value).to.have.length(1000);
    expect(copy.message.headers).to.include({ trace: 'tttttttttt', [DeadLetterHeaders.sourceOffset]: '41' });
    expect(copy.message.headers[DeadLetterHeaders.errorMessage]).to.have.length(2000);
    expect(copy.message.headers[DeadLetterHeaders.dropped]).to.equal(undefined);
  });

  it('a message just under the limit leaves its value out, says so, and keeps its headers', () => {
    const copy = deadLetterMessage(message(999_000), target, context);
    expect(copy.dropped).to.deep.equal(['value']);
    expect(copy.message.value).to.equal(null);
    expect(copy.message.key!.toString()).to.equal('kkkkkkkk');
    expect(copy.message.headers).to.include({ trace: 'tttttttttt', [DeadLetterHeaders.dropped]: 'value', [DeadLetterHeaders.sourceTopic]: 'orders' });
    expect(Number(copy.message.headers[DeadLetterHeaders.fullBytes])).to.be.greaterThan(1_000_000);
    expect(copy.message.partition).to.equal(2);
  });

  it('then the original headers, then the key; every copy fits as the dispatcher and the broker count it', () => {
    const bigHeaders = deadLetterMessage(message(10, { headerBytes: 1_000_000 }), target, context);
    expect(bigHeaders.dropped).to.deep.equal(['value', 'headers']);
    expect(bigHeaders.message.headers.trace).to.equal(undefined);
    const bigKey = deadLetterMessage(message(10, { keyBytes: 1_000_000 }), target, context);
    expect(bigKey.dropped).to.deep.equal(['value', 'headers', 'key']);
    expect(bigKey.message.key).to.equal(null);
    expect(bigKey.message.headers[DeadLetterHeaders.errorMessage]).to.have.length(200);
    for (const copy of [bigHeaders, bigKey]) {
      expect(messageBytes(copy.message)).to.be.at.most(target.maxBytes);
      expect(recordBatchBytes(copy.message)).to.be.at.most(target.maxBytes);
    }
  });

  it('the topic limit counts the record batch framing: a copy of exactly the dispatcher limit does not fit a topic of that size', () => {
    const tight = { ...target, maxBytes: deadLetterMaxBytes(2_000_000, 100_000) };
    const whole = deadLetterMessage(message(1000), tight, context).message;
    const room = 100_000 - messageBytes(whole) + 1000;
    expect(deadLetterMessage(message(room), tight, context).dropped, 'messageBytes fits, the batch does not').to.deep.equal(['value']);
    expect(deadLetterMessage(message(room - 200), tight, context).dropped).to.deep.equal([]);
  });

  it('is deterministic, and a reduced copy is refused for replay with where the original is', () => {
    expect(deadLetterMessage(message(999_000), target, context)).to.deep.equal(deadLetterMessage(message(999_000), target, context));
    const smallest = smallestDeadLetterCopy(message(10), target, context);
    expect(smallest.dropped).to.deep.equal(['value', 'headers', 'key']);
    const record = { topic: 'orders.dlq', partition: 2, offset: 7, key: null, value: null, headers: smallest.message.headers, timestamp: 0 };
    expect(() => replayMessage(record)).to.throw(PartitaError, /without its value,headers,key.*orders\/2@41/);
  });
});
