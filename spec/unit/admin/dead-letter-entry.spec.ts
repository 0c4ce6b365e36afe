import { expect } from 'chai';
import { describeDeadLetter, describeDeadLetterDetail } from '../../../lib/admin/dead-letter-entry.ts';
import { readReplayMarks, replayMarkKey, replayMarkMessage, replayMarkTopic } from '../../../lib/admin/replay-marks.ts';
import { encodeEnvelope } from '../../../lib/job/envelope.ts';
import { createHeaders, type RawRecord } from '../../../lib/kafka/records.ts';

function deadLetterRecord(value: Buffer | null, extra: Record<string, string> = {}): RawRecord {
  const headers = createHeaders();
  Object.assign(headers, {
    'source-topic': 'orders',
    'source-partition': '2',
    'source-offset': '41',
    'source-consumer-group': 'billing',
    'source-attempts': '4',
    'error-class': 'RangeError',
    'error-message': 'no customer',
    ...extra,
  });
  return { topic: 'orders.dlq', partition: 2, offset: 7, key: Buffer.from('cust-1'), value, headers, timestamp: Date.parse('2026-12-01T10:00:00Z') };
}

describe('dead-letter entries (unit)', () => {
  it('decodes a job dead letter: class, id, arguments as they travel, error, source, times, size', () => {
    const job = encodeEnvelope(
      { job_class: 'Invoice', job_id: 'j-1', queue_name: 'orders', arguments: [7, new Date('2026-01-02T00:00:00Z'), new Map([['a', 1n]])], executions: 3, exception_executions: {}, enqueued_at: '2026-12-01T09:59:00Z' },
      'cust-1',
    );
    const entry = describeDeadLetter(deadLetterRecord(Buffer.from(job.value), job.headers), undefined);
    expect(entry).to.deep.include({ topic: 'orders.dlq', partition: 2, offset: 7, key: 'cust-1', jobClass: 'Invoice', jobId: 'j-1', problem: undefined });
    expect(entry.arguments).to.deep.equal([7, '2026-01-02T00:00:00.000Z', [['a', '1']]]);
    expect(entry).to.deep.include({ enqueuedAt: '2026-12-01T09:59:00Z', failedAt: '2026-12-01T10:00:00.000Z', attempts: 4, errorClass: 'RangeError', errorMessage: 'no customer', dropped: [], replayed: undefined });
    expect(entry.source).to.deep.equal({ topic: 'orders', partition: 2, offset: 41, consumerGroup: 'billing' });
    expect(entry.sizeBytes).to.be.greaterThan(job.value.length);
  });

  it('says why a value is not a job, and names no class it does not have; nothing is looked up', () => {
    const notJson = describeDeadLetter(deadLetterRecord(Buffer.from('{oops'), { 'job-class': 'Evil' }), undefined);
    expect(notJson.jobClass).to.equal('Evil');
    expect(notJson.arguments).to.equal(undefined);
    expect(notJson.problem).to.match(/not-json/);
    const tombstone = describeDeadLetter(deadLetterRecord(null), undefined);
    expect(tombstone.problem).to.match(/missing-header/);
    expect(tombstone.jobClass).to.equal(undefined);
  });

  it('a reduced copy lists what it left out; the detail has every header and the value as text', () => {
    const record = deadLetterRecord(null, { 'dead-letter-dropped': 'value,headers', ['__proto__']: 'x' });
    const detail = describeDeadLetterDetail(record, undefined);
    expect(detail.dropped).to.deep.equal(['value', 'headers']);
    expect(detail.value).to.equal(null);
    expect(Object.getOwnPropertyDescriptor(detail.headers, '__proto__')?.value).to.equal('x');
    expect(Object.getPrototypeOf(detail.headers)).to.equal(Object.prototype);
  });
});

describe('replay marks (unit)', () => {
  const deadLetter = { topic: 'orders.dlq', partition: 5, offset: 12 };
  const mark = { at: '2026-12-01T10:00:00.000Z', to: { topic: 'orders', partition: 1, offset: 99 } };

  it('a mark is keyed by dead-letter topic, partition and offset, in the mark partition of its dead-letter partition', () => {
    const message = replayMarkMessage(deadLetter, mark, 3);
    expect(message).to.deep.include({ topic: '__partita.replayed.orders.dlq', key: 'orders.dlq/5@12', partition: 2 });
    expect(replayMarkTopic('orders.dlq')).to.equal(message.topic);
    expect(replayMarkKey(deadLetter)).to.equal(message.key);
  });

  it('reads back the marks of one dead-letter partition and ignores others and garbage', () => {
    const record = (key: string, value: string | null): RawRecord => ({ topic: 't', partition: 2, offset: 0, key: Buffer.from(key), value: value === null ? null : Buffer.from(value), headers: createHeaders(), timestamp: 0 });
    const written = replayMarkMessage(deadLetter, mark, 3);
    const marks = readReplayMarks(
      [
        record(written.key as string, written.value as string),
        record('orders.dlq/15@3', written.value as string),
        record('orders.dlq/5@13', 'not json'),
        record('orders.dlq/5@14', null),
        record('orders.dlq/5@x', written.value as string),
      ],
      'orders.dlq',
      5,
    );
    expect([...marks]).to.deep.equal([[12, mark]]);
  });
});
