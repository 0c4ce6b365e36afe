import { JobsLostError, toError } from './errors.ts';

/**
 * One place that owns SIGINT/SIGTERM. Whoever needs a graceful stop registers a hook; the first
 * signal runs the hooks in order of `order` (workers stop consuming before producers drain).
 *
 * Partita exits the process only when its handler is the only one for the signal: then it exits
 * after the hooks, with status 0, or 1 when a hook failed or jobs were lost, and a second signal
 * exits at once with status 130 / 143. When the app has its own handler for the signal, the hooks
 * run and exiting is left to the app.
 */
type Signal = 'SIGINT' | 'SIGTERM';

/** What a shutdown hook is told. */
export interface ShutdownContext {
  /** The signal that started the shutdown. */
  signal: Signal;
  /** True when Partita exits the process after the hooks; false when the app's own handler decides. */
  exiting: boolean;
}

type Hook = { order: number; run: (context: ShutdownContext) => Promise<void> };

const hooks = new Set<Hook>();
const startListeners = new Set<(context: ShutdownContext) => void>();
const listeners = new Map<Signal, () => void>();
let shuttingDown = false;

/** Registers a shutdown hook; returns a function that removes it. */
export function onShutdownSignal(order: number, run: (context: ShutdownContext) => Promise<void>): () => void {
  const hook = { order, run };
  hooks.add(hook);
  install();
  return () => {
    hooks.delete(hook);
  };
}

/**
 * Calls `listener` at once when the first signal starts the graceful stop (before the hooks run),
 * so a command line can say that it is stopping. Returns a function that removes it.
 */
export function onShutdownStarted(listener: (context: ShutdownContext) => void): () => void {
  startListeners.add(listener);
  return () => {
    startListeners.delete(listener);
  };
}

function install(): void {
  if (listeners.size > 0) return;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const listener = () => void handle(signal);
    listeners.set(signal, listener);
    process.on(signal, listener);
  }
}

async function handle(signal: Signal): Promise<void> {
  const exiting = process.listeners(signal).every((listener) => listener === listeners.get(signal));
  const status = signal === 'SIGINT' ? 130 : 143;
  if (hooks.size === 0 && !shuttingDown) {
    if (exiting) process.exit(status);
    return;
  }
  if (shuttingDown) {
    if (!exiting) return;
    process.stderr.write(`partita: second ${signal}, exiting without waiting\n`);
    process.exit(status);
  }
  shuttingDown = true;
  for (const listener of startListeners) listener({ signal, exiting });
  let failed = false;
  for (const hook of [...hooks].sort((a, b) => a.order - b.order)) {
    try {
      await hook.run({ signal, exiting });
    } catch (error) {
      failed = true;
      // Lost jobs are named once, in the exit line (see dispatch/loss-report.ts).
      if (!(error instanceof JobsLostError)) {
        process.stderr.write(`partita: shutdown step failed: ${toError(error).message}\n`);
      }
    }
  }
  if (exiting) process.exit(failed ? 1 : 0);
}

/** Orders of the built-in hooks. */
export const ShutdownOrder = { worker: 10, dispatcher: 20 } as const;
