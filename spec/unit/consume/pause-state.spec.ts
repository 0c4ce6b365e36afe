import { expect } from 'chai';
import fc from 'fast-check';
import { PauseState, type PauseReason } from '../../../lib/consume/pause-state.ts';
import { WorkerEmitter } from '../../../lib/consume/worker-events.ts';

/** A pause state over an in-memory partition that records the calls and events it got. */
function fakePartition() {
  const calls: ('pause' | 'resume')[] = [];
  const events: string[] = [];
  let revoked = false;
  const emitter = new WorkerEmitter();
  emitter.on('partition.paused', ({ reason }) => events.push(`paused:${reason}`));
  emitter.on('partition.resumed', () => events.push('resumed'));
  const state = new PauseState({
    topic: 't',
    partition: 0,
    pausePartition: () => calls.push('pause'),
    resumePartition: () => calls.push('resume'),
    revoked: () => revoked,
    events: emitter,
  });
  return { state, calls, events, revoke: () => (revoked = true) };
}

describe('pause state (unit)', () => {
  it('pauses on the first reason, resumes when the last one goes, and tells each change once', () => {
    const { state, calls, events } = fakePartition();
    state.set('backpressure', true);
    state.set('backoff', true);
    state.set('backpressure', false);
    expect(state.paused).to.equal(true);
    state.set('backoff', false);
    expect(state.paused).to.equal(false);
    expect(calls).to.deep.equal(['pause', 'resume']);
    expect(events).to.deep.equal(['paused:backpressure', 'resumed']);
  });

  it('a reason set twice is held once; letting go of one not held changes nothing', () => {
    const { state, calls } = fakePartition();
    state.set('unmarked', false);
    state.set('hold:2', true);
    state.set('hold:2', true);
    expect(state.holds('hold:2')).to.equal(true);
    expect(state.holds('hold:1')).to.equal(false);
    state.set('hold:2', false);
    expect(calls).to.deep.equal(['pause', 'resume']);
  });

  it('a revoked partition is not held: the next change lets it go, and nothing pauses it again', () => {
    const { state, calls, revoke } = fakePartition();
    state.set('long-running', true);
    revoke();
    state.set('backoff', true);
    expect(state.paused).to.equal(false);
    state.set('backpressure', true);
    expect(calls).to.deep.equal(['pause', 'resume']);
  });

  it('reapply pauses again after kafkajs restarted its consumer, only when paused', () => {
    const { state, calls } = fakePartition();
    state.reapply();
    state.set('backoff', true);
    state.reapply();
    expect(calls).to.deep.equal(['pause', 'pause']);
  });

  it('property: paused exactly while a reason holds, and pause and resume alternate', () => {
    const reason = fc.constantFrom<PauseReason>('backpressure', 'long-running', 'backoff', 'unmarked', 'hold:0', 'hold:1');
    fc.assert(
      fc.property(fc.array(fc.tuple(reason, fc.boolean()), { maxLength: 40 }), (changes) => {
        const { state, calls } = fakePartition();
        const held = new Set<PauseReason>();
        for (const [what, on] of changes) {
          state.set(what, on);
          if (on) held.add(what);
          else held.delete(what);
          expect(state.paused).to.equal(held.size > 0);
        }
        calls.forEach((call, index) => expect(call).to.equal(index % 2 === 0 ? 'pause' : 'resume'));
      }),
    );
  });
});
