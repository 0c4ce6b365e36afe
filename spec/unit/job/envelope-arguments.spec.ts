import { expect } from 'chai';
import superjson from 'superjson';
import { SerializationError } from '../../../lib/errors.ts';
import { decodeEnvelope, encodeEnvelope } from '../../../lib/job/envelope.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import { Job } from '../../../lib/job/job.ts';

const at = { topic: 't', partition: 0, offset: 0 };

function refusal(args: unknown[]): SerializationError {
  try {
    encodeEnvelope(sampleEnvelope(args), undefined);
  } catch (error) {
    expect(error).to.be.instanceOf(SerializationError);
    return error as SerializationError;
  }
  expect.fail('encodeEnvelope accepted arguments superjson cannot round-trip');
}

class User {
  constructor(readonly name: string) {}
  save(): void {}
}

class RegisteredPoint {
  constructor(
    readonly x = 0,
    readonly y = 0,
  ) {}
}
superjson.registerClass(RegisteredPoint, 'spec.RegisteredPoint');
const registeredSymbol = Symbol('spec.registered');
superjson.registerSymbol(registeredSymbol, 'spec.registered');

describe('job arguments superjson cannot round-trip (unit, E6)', () => {
  const cases: [string, unknown[], string, RegExp][] = [
    ['a function nested in an object', ['a', { user: { name: 'x', save: () => {} } }], 'arguments[1].user.save', /is a function/],
    ['a function in an array', [[1, () => {}]], 'arguments[0][1]', /is a function/],
    ['an unregistered symbol', [{ kind: Symbol('kind') }], 'arguments[0].kind', /symbol not registered/],
    ['an unregistered class instance', [1, { user: new User('ann') }], 'arguments[1].user', /instance of User.*registerClass\(User\)/],
    ['a Map value', [new Map([['k', () => {}]])], 'arguments[0].get("k")', /is a function/],
    ['a Set item', [new Set([1, new User('b')])], 'arguments[0].values()[1]', /instance of User/],
    ['an Error subclass', [new TypeError('t')], 'arguments[0]', /TypeError/],
    ['a symbol-keyed property', [{ [Symbol('s')]: 1 }], 'arguments[0][Symbol(s)]', /symbol-keyed/],
    ['a property that is not an identifier', [{ 'a b': () => {} }], 'arguments[0]["a b"]', /is a function/],
    ['an ArrayBuffer', [new ArrayBuffer(4)], 'arguments[0]', /instance of ArrayBuffer/],
  ];
  for (const [what, args, path, problem] of cases) {
    it(`refuses ${what}, naming ${path}`, () => {
      const error = refusal(args);
      expect(error.path).to.equal(path);
      expect(error.message).to.include(path).and.include('SendEmail').and.match(problem);
    });
  }

  it('accepts what superjson carries, including registered classes and symbols and shared references', () => {
    const shared = { n: 1 };
    const args = [shared, shared, new RegisteredPoint(1, 2), registeredSymbol, new Error('e'), new URL('http://x/'), new Float64Array([1.5]), Object.create(null) as object];
    const encoded = encodeEnvelope(sampleEnvelope(args), undefined);
    const decoded = decodeEnvelope(Buffer.from(encoded.value), encoded.headers, at).arguments;
    expect(decoded[2]).to.be.instanceOf(RegisteredPoint).and.deep.equal(new RegisteredPoint(1, 2));
    expect(decoded[3]).to.equal(registeredSymbol);
    expect(decoded[6]).to.be.instanceOf(Float64Array);
  });

  it('round-trips Buffer and Uint8Array arguments as what they were', () => {
    const args = [Buffer.from('héllo'), { nested: Buffer.from([0, 255, 7]) }, new Uint8Array([1, 2, 3])];
    const encoded = encodeEnvelope(sampleEnvelope(args), undefined);
    const decoded = decodeEnvelope(Buffer.from(encoded.value), encoded.headers, at).arguments as [Buffer, { nested: Buffer }, Uint8Array];
    expect(Buffer.isBuffer(decoded[0])).to.equal(true);
    expect(decoded[0].toString()).to.equal('héllo');
    expect(Buffer.isBuffer(decoded[1].nested)).to.equal(true);
    expect([...decoded[1].nested]).to.deep.equal([0, 255, 7]);
    expect(decoded[2]).to.be.instanceOf(Uint8Array);
    expect([...decoded[2]]).to.deep.equal([1, 2, 3]);
  });

  it('performLater, set().performLater and performAllLater reject before anything is sent', async () => {
    class Mail extends Job<[to: string, options: { onSent: () => void }]> {
      perform(): void {}
    }
    const args: [string, { onSent: () => void }] = ['a@b', { onSent: () => {} }];
    for (const enqueue of [() => Mail.performLater(...args), () => Mail.set({ topic: 'other' }).performLater(...args), () => Job.performAllLater([new Mail(...args)])]) {
      const error = await enqueue().then(
        () => expect.fail('enqueued a function argument'),
        (rejection: unknown) => rejection,
      );
      expect(error).to.be.instanceOf(SerializationError);
      expect((error as SerializationError).path).to.equal('arguments[1].onSent');
    }
  });
});
