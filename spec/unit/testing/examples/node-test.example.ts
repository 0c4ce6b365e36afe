// Run by node:test (in this repository, pointing partita at lib/): node --import tsx --conditions=partita-source --test spec/unit/testing/examples/node-test.example.ts
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { closeDispatcher, Job } from 'partita';
import { useTestDispatcher, type TestDispatcher } from 'partita/testing';

const welcomed: string[] = [];

class Welcome extends Job<[userId: string]> {
  static override options = { topic: 'mail' };
  async perform(userId: string): Promise<void> {
    welcomed.push(userId);
  }
}

let jobs: TestDispatcher;
beforeEach(async () => {
  jobs = await useTestDispatcher({ jobs: [Welcome] });
});
afterEach(() => closeDispatcher());

test('a sign-up enqueues a welcome mail', async () => {
  await Welcome.performLater('u-1');
  jobs.assertEnqueuedWith(Welcome, { args: ['u-1'], topic: 'mail' });
  await jobs.performEnqueuedJobs();
  assert.deepEqual(welcomed, ['u-1']);
  jobs.assertNoEnqueuedJobs();
});

test('an assertion failure names what was enqueued', async () => {
  await Welcome.performLater('u-2');
  assert.throws(() => jobs.assertEnqueuedWith(Welcome, { args: ['u-3'] }), /enqueued \(1\):\n.*'u-2'/);
});
