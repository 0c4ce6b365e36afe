/**
 * `partita/testing`: test helpers that need no broker. A {@link TestDispatcher} captures the jobs
 * and messages a test enqueues (through the real dispatcher and envelope codec) and performs them
 * with the worker's job consumer; a {@link ConsumerHarness} feeds a consumer fake messages and
 * records its marks and what it produced. Assertions throw `AssertionError` from `node:assert`,
 * so they work under any test runner.
 */
export {
  TestDispatcher,
  useTestDispatcher,
  type EnqueuedJob,
  type EnqueuedJobMatch,
  type PerformEnqueuedJobsOptions,
  type TestDispatcherOptions,
} from './test-dispatcher.ts';
export { ConsumerHarness, type ConsumerHarnessOptions, type FakeMessage } from './consumer-harness.ts';
export type { OffsetAndMetadata } from '../kafka/records.ts';
export { EndlessJobsError } from '../errors.ts';
