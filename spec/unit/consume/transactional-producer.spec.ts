import { expect } from 'chai';
import { TransactionalProducer, type TransactionalSender } from '../../../lib/consume/transactional-producer.ts';
import type { KafkaTransaction } from '../../../lib/kafka/producer.ts';

/** Producers in memory, numbered in creation order; `failConnect` makes the next connect fail. */
function fakeProducers() {
  const log: string[] = [];
  let made = 0;
  let failConnect = false;
  const create = (): TransactionalSender => {
    const id = (made += 1);
    log.push(`create:${id}`);
    return {
      connect: async () => {
        log.push(`connect:${id}`);
        if (failConnect) {
          failConnect = false;
          throw new Error(`connect ${id} failed`);
        }
      },
      beginTransaction: async () => {
        log.push(`begin:${id}`);
        return { id } as unknown as KafkaTransaction;
      },
      disconnect: async () => {
        log.push(`disconnect:${id}`);
        throw new Error('already gone');
      },
    };
  };
  return { create, log, failNextConnect: () => (failConnect = true) };
}

describe('transactional producer (unit)', () => {
  it('creates and connects one producer on the first transaction and keeps it for the next ones', async () => {
    const { create, log } = fakeProducers();
    const producer = new TransactionalProducer(create);
    expect(log).to.deep.equal([]);
    await Promise.all([producer.begin(), producer.begin()]);
    await producer.begin();
    expect(log).to.deep.equal(['create:1', 'connect:1', 'begin:1', 'begin:1', 'begin:1']);
  });

  it('after close (a fenced or broken producer), the next transaction gets a new producer; errors of disconnect are ignored', async () => {
    const { create, log } = fakeProducers();
    const producer = new TransactionalProducer(create);
    await producer.begin();
    await producer.close();
    await producer.close();
    await producer.begin();
    expect(log).to.deep.equal(['create:1', 'connect:1', 'begin:1', 'disconnect:1', 'create:2', 'connect:2', 'begin:2']);
  });

  it('a producer whose connect failed is not used again', async () => {
    const { create, log, failNextConnect } = fakeProducers();
    const producer = new TransactionalProducer(create);
    failNextConnect();
    let failure: unknown;
    await producer.begin().catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(Error).with.property('message', 'connect 1 failed');
    await producer.begin();
    expect(log).to.deep.equal(['create:1', 'connect:1', 'create:2', 'connect:2', 'begin:2']);
  });
});
