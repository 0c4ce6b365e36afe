import { expect } from 'chai';
import { createRequire } from 'node:module';
import { BrokerUnavailableError, MissingTopicError, PartitaError, ProduceError } from '../../../lib/errors.ts';
import { describeProduceFailure } from '../../../lib/kafka/producer.ts';

// kafkajs's own error classes, loaded after Partita (which must come first).
const kafkajs = createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');
const brokers = ['127.0.0.1:9092'];

function afterRetries(error: Error): Error {
  return new kafkajs.KafkaJSNumberOfRetriesExceeded(error, { retryCount: 5, retryTime: 3000 });
}

describe('produce failures are Partita errors (unit)', () => {
  it('a topic the broker does not have and will not create (auto.create.topics.enable=false): MissingTopicError naming it', () => {
    const unknownTopic = new kafkajs.KafkaJSProtocolError({ message: 'This server does not host this topic-partition', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true } as never);
    const error = describeProduceFailure(afterRetries(unknownTopic), ['orders'], brokers);
    expect(error).to.be.instanceOf(MissingTopicError);
    expect((error as MissingTopicError).topics).to.deep.equal(['orders']);
    expect(error.message).to.include('"orders"').and.include('config({ partitions })').and.include('auto.create.topics.enable');
  });

  it('a lost connection: BrokerUnavailableError naming the brokers', () => {
    const refused = new kafkajs.KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092', code: 'ECONNREFUSED' } as never);
    const error = describeProduceFailure(afterRetries(refused), ['orders'], brokers);
    expect(error).to.be.instanceOf(BrokerUnavailableError);
    expect(error.message).to.include('127.0.0.1:9092').and.include('npx partita kafka start');
  });

  it('anything else: ProduceError naming the topics, with kafkajs error as its cause', () => {
    const tooLarge = new kafkajs.KafkaJSProtocolError({ message: 'The request included a message larger than the max message size the server will accept', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as never);
    const error = describeProduceFailure(tooLarge, ['a', 'b'], brokers);
    expect(error).to.be.instanceOf(ProduceError);
    expect(error.message).to.include('"a", "b"').and.include('larger than the max message size');
    expect(error.cause).to.equal(tooLarge);
  });

  it('a Partita error passes through unchanged', () => {
    const own = new PartitaError('ours');
    expect(describeProduceFailure(own, ['a'], brokers)).to.equal(own);
  });
});
