import { expect } from 'chai';
import { JobHold } from '../../../lib/consume/job-hold.ts';

describe('JobHold (app.pause / resume)', () => {
  const settled = async (promise: Promise<void>) => {
    let done = false;
    void promise.then(() => (done = true));
    await new Promise((resolve) => setImmediate(resolve));
    return done;
  };

  it('lets lanes through when not held, holds them until release, and lets them go when they must stop', async () => {
    const hold = new JobHold();
    const never = new AbortController().signal;
    expect(await settled(hold.whenReleased(never))).to.equal(true);
    hold.hold();
    expect(hold.held).to.equal(true);
    const waiting = hold.whenReleased(never);
    expect(await settled(waiting)).to.equal(false);
    hold.release();
    expect(await settled(waiting)).to.equal(true);
    hold.hold();
    const stop = new AbortController();
    const stopping = hold.whenReleased(stop.signal);
    expect(await settled(stopping)).to.equal(false);
    stop.abort();
    expect(await settled(stopping)).to.equal(true);
    expect(hold.held).to.equal(true);
  });
});
