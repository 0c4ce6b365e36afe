import { expect } from 'chai';
import type { Message as KafkaMessage } from '../../lib/kafka/kafkajs.ts';
import { Consumer } from '../../lib/consume/consumer.ts';
import type { Message } from '../../lib/kafka/inbound-message.ts';
import { Job } from '../../lib/job/job.ts';
import { stopApps, testApp } from '../support/app.ts';
import { createTopic, readAll, unique, waitFor } from '../support/kafka.ts';
import { jobMessage, produceRaw } from '../support/produce.ts';

const order = new Map<string, number[]>();

class Recorded extends Job<[key: string, seq: number]> {
  perform(key: string, seq: number) {
    if (typeof seq !== 'number') throw new TypeError(`seq must be a number, got ${typeof seq}`);
    const list = order.get(key) ?? [];
    list.push(seq);
    order.set(key, list);
  }
}

/** One message of each kind of bad input. */
function poison(topic: string, kind: number, key: string, partition?: number): { message: KafkaMessage; reason: RegExp } {
  const base = jobMessage(topic, 'Recorded', unique('bad'), key, [key, 0], partition);
  const headers = base.headers as Record<string, string>;
  const at = partition === undefined ? {} : { partition };
  switch (kind % 6) {
    case 0:
      return { message: { ...base, value: '{not json' }, reason: /not-json|not JSON/ };
    case 1:
      return { message: { ...base, value: JSON.stringify({ json: { hello: 'world' } }) }, reason: /not-envelope/ };
    case 2: {
      const { 'job-class': _missing, ...rest } = headers;
      return { message: { ...base, headers: rest }, reason: /missing-header/ };
    }
    case 3:
      return { message: jobMessage(topic, 'DropTables', unique('bad'), key, [], partition), reason: /DropTables.*not registered/ };
    case 4:
      return { message: { key, value: null, headers, ...at }, reason: /tombstone/ };
    default:
      return { message: jobMessage(topic, 'Recorded', unique('bad'), key, [key, 'not-a-number'], partition), reason: /TypeError|seq must be a number/ };
  }
}

describe('bad input (broker)', function () {
  afterEach(stopApps);

  it('D10: each kind of bad input ends in the DLQ with its reason; healthy messages around it run', async () => {
    const topic = await createTopic(unique('d10'), 1);
    const dlq = unique('d10-dlq');
    const messages: KafkaMessage[] = [];
    const reasons: RegExp[] = [];
    for (let kind = 0; kind < 6; kind += 1) {
      messages.push(jobMessage(topic, 'Recorded', unique('ok'), `d10-${kind}`, [`d10-${kind}`, 1]));
      const bad = poison(topic, kind, `d10-${kind}`);
      messages.push(bad.message);
      reasons.push(bad.reason);
      messages.push(jobMessage(topic, 'Recorded', unique('ok'), `d10-${kind}`, [`d10-${kind}`, 2]));
    }
    await produceRaw(topic, messages);
    const app = testApp({ jobs: [Recorded], backoff: { timeout: 50, maxTimeout: 100 } }).routes((r) =>
      r.activeJobTopic(topic, (t) => t.virtualPartitions({ partitioner: (m) => m.key, maxPartitions: 4 }).deadLetterQueue({ topic: dlq, maxRetries: 1 })),
    );
    const errors: { kind?: string; offset?: number }[] = [];
    app.on('error', (e) => errors.push(e));
    await app.run();
    const copies = await readAll(dlq, 6);
    await waitFor(() => [...Array(6).keys()].every((k) => order.get(`d10-${k}`)?.length === 2), { what: 'the healthy jobs' });
    for (let kind = 0; kind < 6; kind += 1) {
      const copy = copies.find((c) => Number(c.headers['source-offset']) === kind * 3 + 1);
      expect(copy, `dead letter of kind ${kind}`).to.not.equal(undefined);
      expect(`${copy!.headers['error-class']}: ${copy!.headers['error-message']}`).to.match(reasons[kind]!);
      expect(order.get(`d10-${kind}`)).to.deep.equal([1, 2]);
    }
    const badInputKinds = ['not-json', 'not-envelope', 'missing-header', 'unknown-job-class', 'tombstone'];
    for (const kind of badInputKinds) {
      expect(errors.some((e) => e.kind === kind), `an error event of kind ${kind}`).to.equal(true);
    }
    // Bad-input events say where the message was (other events, e.g. a transient consumer restart, need not).
    const badInput = errors.filter((e) => badInputKinds.includes(e.kind ?? ''));
    expect(badInput.filter((e) => e.offset === undefined), 'bad-input events without an offset').to.deep.equal([]);
  });

  it('a header named __proto__ or constructor reaches the consumer and its dead-letter copy as a plain header', async () => {
    const topic = await createTopic(unique('proto'), 1);
    const dlq = await createTopic(unique('proto-dlq'), 1);
    await produceRaw(topic, [{ key: 'k', value: 'x', partition: 0, headers: { ['__proto__']: 'p-value', constructor: 'c-value', plain: 'v' } }]);
    const seen: Record<string, string | undefined>[] = [];
    class Fails extends Consumer {
      consume(messages: Message[]) {
        seen.push({ ...messages[0]!.headers });
        throw new Error('to the DLQ');
      }
    }
    const copies: Record<string, string | undefined>[] = [];
    class Copies extends Consumer {
      consume(messages: Message[]) {
        for (const message of messages) copies.push({ ...message.headers });
      }
    }
    const app = testApp().routes((r) => {
      r.topic(topic, Fails, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 0 }));
      r.topic(dlq, Copies);
    });
    await app.run();
    await waitFor(() => copies.length === 1, { what: 'the dead-letter copy' });
    for (const headers of [seen[0]!, copies[0]!]) {
      expect(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value).to.equal('p-value');
      expect(Object.getOwnPropertyDescriptor(headers, 'constructor')?.value).to.equal('c-value');
      expect(headers.plain).to.equal('v');
    }
    expect(copies[0]!['source-offset']).to.equal('0');
    expect(Object.getPrototypeOf({})).to.equal(Object.prototype);
  });

  it('soak: 10 000 healthy jobs and 500 poison messages; all healthy run in key order, all poison is dead-lettered, the worker never restarts', async () => {
    const topic = await createTopic(unique('soak'), 4);
    const dlq = unique('soak-dlq');
    const messages: KafkaMessage[] = [];
    const seqOf = new Map<string, number>();
    let poisonCount = 0;
    for (let i = 0; i < 10_500; i += 1) {
      const key = `soak-${i % 200}`;
      if (i % 21 === 20 && poisonCount < 500) {
        messages.push(poison(topic, poisonCount, key).message);
        poisonCount += 1;
        continue;
      }
      const seq = seqOf.get(key) ?? 0;
      seqOf.set(key, seq + 1);
      messages.push(jobMessage(topic, 'Recorded', unique('ok'), key, [key, seq]));
    }
    const healthy = messages.length - poisonCount;
    expect(poisonCount).to.equal(500);
    await produceRaw(topic, messages);
    const app = testApp({ jobs: [Recorded], backoff: { timeout: 20, maxTimeout: 100 } }).routes((r) =>
      r.activeJobTopic(topic, (t) => t.virtualPartitions({ partitioner: (m) => m.headers['job-key'] ?? m.key, maxPartitions: 8 }).deadLetterQueue({ topic: dlq, maxRetries: 1 })),
    );
    let starts = 0;
    let performed = 0;
    let deadLettered = 0;
    const crashes: string[] = [];
    app.on('worker.started', () => (starts += 1));
    app.on('job.performed', () => (performed += 1));
    app.on('message.dead-lettered', () => (deadLettered += 1));
    app.on('error', (e) => {
      if (String(e.kind).startsWith('consumer') || e.kind === 'engine') crashes.push(`${e.kind}: ${e.error.message}`);
    });
    await app.run();
    await waitFor(() => performed >= healthy && deadLettered >= 500, { what: `healthy ${performed}/${healthy}, dead ${deadLettered}/500`, timeoutMs: 240_000 });
    expect(performed).to.equal(healthy);
    expect(deadLettered).to.equal(500);
    expect(crashes).to.deep.equal([]);
    expect(starts).to.equal(1);
    for (let k = 0; k < 200; k += 1) {
      const seqs = order.get(`soak-${k}`) ?? [];
      expect(seqs, `order of soak-${k}`).to.deep.equal([...Array(seqOf.get(`soak-${k}`)).keys()]);
    }
    const copies = await readAll(dlq, 500, 60_000);
    expect(copies).to.have.length(500);
  });
});
