import { expect } from 'chai';
import { decideSend, type SendState } from '../../../lib/dispatch/send-policy.ts';

const bounds = { batchSize: 1000, batchBytes: 900_000, lingerMs: 0 };
const state = (overrides: Partial<SendState>): SendState => ({ buffered: 1, bufferedBytes: 500, inFlight: false, urgent: false, ...overrides });

describe('decideSend (unit)', () => {
  it('is idle with nothing buffered, in flight or not', () => {
    expect(decideSend(state({ buffered: 0, bufferedBytes: 0 }), bounds)).to.equal('idle');
    expect(decideSend(state({ buffered: 0, bufferedBytes: 0, inFlight: true, urgent: true }), bounds)).to.equal('idle');
  });

  it('sends async messages at the end of the turn when no request is in flight: no linger', () => {
    expect(decideSend(state({}), bounds)).to.equal('end-of-turn');
  });

  it('lingers only when lingerMs is set and nothing forces a send', () => {
    expect(decideSend(state({}), { ...bounds, lingerMs: 5 })).to.equal('linger');
    expect(decideSend(state({ urgent: true }), { ...bounds, lingerMs: 5 })).to.equal('now');
  });

  it('batches behind a request in flight, whatever waits (sends never overlap)', () => {
    for (const overrides of [{}, { urgent: true }, { buffered: 5000, bufferedBytes: 2_000_000 }]) {
      expect(decideSend(state({ inFlight: true, ...overrides }), bounds)).to.equal('after-answer');
      expect(decideSend(state({ inFlight: true, ...overrides }), { ...bounds, lingerMs: 5 })).to.equal('after-answer');
    }
  });

  it('sends at once when someone waits for the broker or a full request is buffered', () => {
    const lingering = { ...bounds, lingerMs: 60_000 };
    expect(decideSend(state({ urgent: true }), lingering)).to.equal('now');
    expect(decideSend(state({ buffered: 1000 }), lingering)).to.equal('now');
    expect(decideSend(state({ buffered: 999 }), lingering)).to.equal('linger');
    expect(decideSend(state({ bufferedBytes: 900_000 }), lingering)).to.equal('now');
    expect(decideSend(state({ bufferedBytes: 899_999 }), lingering)).to.equal('linger');
  });
});
