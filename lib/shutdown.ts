/**
 * One place that owns SIGINT/SIGTERM. Whoever needs a graceful stop registers a hook; the first
 * signal runs the hooks in order of `order` (workers stop consuming before producers drain), then
 * exits with status 0. A second signal exits at once with status 130 / 143.
 */
type Hook = { order: number; run: () => Promise<void> };

const hooks = new Set<Hook>();
let installed = false;
let shuttingDown = false;

/** Registers a shutdown hook; returns a function that removes it. */
export function onShutdownSignal(order: number, run: () => Promise<void>): () => void {
  const hook = { order, run };
  hooks.add(hook);
  install();
  return () => {
    hooks.delete(hook);
  };
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void handle(signal));
  }
}

async function handle(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  if (hooks.size === 0) {
    process.exit(signal === 'SIGINT' ? 130 : 143);
  }
  if (shuttingDown) {
    process.stderr.write(`partita: second ${signal}, exiting without waiting\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  }
  shuttingDown = true;
  let failed = false;
  for (const hook of [...hooks].sort((a, b) => a.order - b.order)) {
    try {
      await hook.run();
    } catch (error) {
      failed = true;
      process.stderr.write(`partita: shutdown step failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  process.exit(failed ? 1 : 0);
}

/** Orders of the built-in hooks. */
export const ShutdownOrder = { worker: 10, dispatcher: 20 } as const;
