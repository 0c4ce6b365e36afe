/**
 * Entry of a bench child process: receives `{ role, spec }` over IPC, runs it, reports the outcome.
 * A role may report progress and wait for the parent's `stop` (see `RoleControl`).
 */
import type { ChildMessage, MemoryPeaks, ParentMessage } from './support/child.ts';
import { roles, type RoleControl, type RoleName } from './roles/index.ts';

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

const peakMemory: MemoryPeaks = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
function sampleMemory(): void {
  const usage = process.memoryUsage();
  for (const key of Object.keys(peakMemory) as (keyof MemoryPeaks)[]) peakMemory[key] = Math.max(peakMemory[key], usage[key]);
}
setInterval(sampleMemory, 100).unref();

let stopRequested: () => void = () => {};
const control: RoleControl = {
  progress: (done) => void send({ type: 'progress', done }),
  stopped: new Promise<void>((resolve) => (stopRequested = resolve)),
};

process.once('message', async ({ role, spec }: { role: RoleName; spec: never }) => {
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stop') stopRequested();
  });
  const started = performance.now();
  try {
    const run = (await roles[role]()) as (spec: never, ready: () => void, control: RoleControl) => Promise<unknown>;
    const result = await run(spec, () => void send({ type: 'ready' }), control);
    sampleMemory();
    const usage = process.resourceUsage();
    await send({
      type: 'result',
      outcome: {
        result,
        peakRssBytes: usage.maxRSS * 1024,
        peakMemory,
        cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
        wallMs: performance.now() - started,
      },
    });
    process.exit(0);
  } catch (error) {
    await send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  }
});
