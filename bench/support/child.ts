/**
 * Every measured side (enqueuer, worker, baseline) runs in its own Node process, so its peak RSS
 * and CPU time are its own, and producers and workers do not share an event loop. The children run
 * compiled JavaScript with plain `node`, as an installed app runs the package: no TypeScript loader
 * in their memory or CPU time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { RoleName, RoleResults, RoleSpecs } from '../roles/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('../.build/bench/child.js', import.meta.url));

/**
 * Compiles `bench/child.ts` and everything it imports (the roles, `lib/`) into `bench/.build/` with
 * `tsconfig.bench.json`: the options of `npm run build`, so `lib/` is the same JavaScript as `dist/`.
 * Run once per bench run, before the first child starts.
 */
export function buildChildren(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.bench.json'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`compiling the bench children failed (tsc -p tsconfig.bench.json exited with ${build.signal ?? build.status})`);
}

/** What a child reports when its role finished. */
export interface ChildOutcome<T> {
  result: T;
  /** Peak resident set size of the child process (getrusage maxrss), in bytes. */
  peakRssBytes: number;
  /** The highest of each `process.memoryUsage()` figure, sampled every 100 ms, in bytes. */
  peakMemory: MemoryPeaks;
  /** User + system CPU time of the child, in ms. */
  cpuMs: number;
  /** Wall time of the role, in ms. */
  wallMs: number;
}

/**
 * What the peak RSS consists of: V8's heap (used, and reserved: `heapTotal`), memory outside it held
 * by JavaScript objects (`external`, of which `arrayBuffers` are Buffers such as fetch responses).
 */
export interface MemoryPeaks {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** Messages a child sends to its parent. */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'progress'; done: number }
  | { type: 'result'; outcome: ChildOutcome<unknown> }
  | { type: 'error'; message: string };

/** Messages the parent sends a running child. */
export type ParentMessage = { type: 'stop' };

/**
 * A running child: `ready` once its role said so (a worker joined its group), `done` with the
 * outcome. A worker that shares its work with other children reports `progress()` (jobs done so far)
 * and finishes when told to `stop()`.
 */
export interface ChildHandle<T> {
  ready: Promise<void>;
  done: Promise<ChildOutcome<T>>;
  progress: () => number;
  stop: () => void;
}

/** Starts `role` in a child process; it is killed (by its pid) if it has not finished within `timeoutMs`. */
export function startChild<R extends RoleName>(role: R, spec: RoleSpecs[R], timeoutMs: number): ChildHandle<RoleResults[R]> {
  const profile = process.env.BENCH_CHILD_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CHILD_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, ENTRY], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let progress = 0;
  let markReady: () => void = () => {};
  let failReady: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => {});
  const done = new Promise<ChildOutcome<RoleResults[R]>>((resolve, reject) => {
    let outcome: ChildOutcome<RoleResults[R]> | undefined;
    let failure: Error | undefined;
    const timer = setTimeout(() => {
      failure = new Error(`${role} did not finish within ${timeoutMs} ms; killed`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') markReady();
      else if (message.type === 'progress') progress = message.done;
      else if (message.type === 'result') outcome = message.outcome as ChildOutcome<RoleResults[R]>;
      else failure = new Error(`${role} failed: ${message.message}`);
    });
    child.once('error', (error) => (failure = error));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const error = failure ?? (outcome ? undefined : new Error(`${role} exited with ${signal ?? code} before reporting`));
      if (error) {
        failReady(error);
        reject(error);
      } else resolve(outcome!);
    });
  });
  child.send({ role, spec });
  const stop = () => {
    if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
  };
  return { ready, done, progress: () => progress, stop };
}

/** Runs a role to its end. */
export function runChild<R extends RoleName>(role: R, spec: RoleSpecs[R], timeoutMs: number): Promise<ChildOutcome<RoleResults[R]>> {
  return startChild(role, spec, timeoutMs).done;
}
