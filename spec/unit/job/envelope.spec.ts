import { expect } from 'chai';
import fc from 'fast-check';
import superjson from 'superjson';
import { BadMessageError } from '../../../lib/errors.ts';
import { decodeEnvelope, encodeEnvelope, JobHeaders } from '../../../lib/job/envelope.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

const at = { topic: 't', partition: 2, offset: 41 };

describe('envelope codec (unit)', () => {
  it('round-trips Date, Map, Set, BigInt, RegExp, undefined and nesting (J4, pure part)', () => {
    const args = [new Date(1_700_000_000_000), new Map([['a', { n: 1n }]]), new Set([1, 2]), 2n ** 70n, /x+/gi, undefined, { deep: { list: [undefined, new Date(5)] } }];
    const encoded = encodeEnvelope(sampleEnvelope(args), 'user-1');
    const decoded = decodeEnvelope(Buffer.from(encoded.value), encoded.headers, at);
    expect(decoded.arguments).to.deep.equal(args);
    expect(decoded.arguments[0]).to.be.instanceOf(Date);
    expect(encoded.key).to.equal('user-1');
    expect(encoded.headers[JobHeaders.jobKey]).to.equal('user-1');
    expect(encoded.headers[JobHeaders.jobClass]).to.equal('SendEmail');
  });

  it('omits job-key and the message key without a partitioner', () => {
    const encoded = encodeEnvelope(sampleEnvelope([]), undefined);
    expect(encoded.key).to.equal(null);
    expect(encoded.headers).to.not.have.property(JobHeaders.jobKey);
  });

  const cases: [string, Buffer | null, Record<string, string>, string][] = [
    ['tombstone', null, { 'job-class': 'SendEmail' }, 'tombstone'],
    ['not JSON', Buffer.from('{nope'), { 'job-class': 'SendEmail' }, 'not-json'],
    ['JSON but not an envelope', Buffer.from('{"json":{"hello":1}}'), { 'job-class': 'SendEmail' }, 'not-envelope'],
    ['plain JSON', Buffer.from('[1,2]'), { 'job-class': 'SendEmail' }, 'not-envelope'],
    ['missing header', Buffer.from(encodeEnvelope(sampleEnvelope([]), undefined).value), {}, 'missing-header'],
    ['header mismatch', Buffer.from(encodeEnvelope(sampleEnvelope([]), undefined).value), { 'job-class': 'Other' }, 'header-mismatch'],
  ];
  for (const [name, value, headers, kind] of cases) {
    it(`names bad input: ${name}`, () => {
      let error: unknown;
      try {
        decodeEnvelope(value, headers, at);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(BadMessageError);
      expect((error as BadMessageError).kind).to.equal(kind);
      expect((error as Error).message).to.contain('t/2@41');
    });
  }

  it('decodes every envelope as superjson itself reads it, meta or none, shared references included (property)', () => {
    // superjson refuses these keys on a path it annotates (prototype pollution).
    const key = fc.string().filter((k) => !['__proto__', 'prototype', 'constructor'].includes(k));
    const shared = fc.object({ key, maxDepth: 1 });
    fc.assert(
      fc.property(
        fc.array(fc.anything({ key, maxDepth: 3, withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: false }), { maxLength: 4 }),
        fc.option(shared, { nil: undefined }),
        (args, repeated) => {
          const envelope = sampleEnvelope(repeated === undefined ? args : [...args, repeated, { again: repeated }]);
          const value = superjson.stringify(envelope);
          const decoded = decodeEnvelope(Buffer.from(value), { [JobHeaders.jobClass]: 'SendEmail' }, at);
          const expected = superjson.parse<typeof envelope>(value);
          expect(decoded).to.deep.equal(expected);
          if (repeated !== undefined) expect(decoded.arguments.at(-2)).to.equal((decoded.arguments.at(-1) as { again: unknown }).again);
        },
      ),
      { numRuns: 300 },
    );
  });
});
