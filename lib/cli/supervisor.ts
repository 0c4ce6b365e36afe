import { spawn, type ChildProcess } from 'node:child_process';

const FIRST_RESTART_MS = 1000;
const MAX_RESTART_MS = 30_000;
/** A worker that stayed up this long restarts without delay the next time it dies. */
const HEALTHY_UPTIME_MS = 60_000;

/**
 * `partita worker <file> --processes N`: runs N worker processes of one app (they share the
 * group's partitions), restarts one that dies with a doubling delay, and on SIGINT/SIGTERM passes
 * the signal on and waits for every worker's graceful stop. A second signal is passed on too (each
 * worker then exits at once) and the supervisor exits with 130/143. Resolves with the exit status.
 * Workers run the command that runs this one (`process.argv[1]`, with this Node's flags).
 */
export function superviseWorkers(file: string, processes: number, log: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const children = new Map<number, ChildProcess>();
    const delays = new Map<number, number>();
    let stopping = false;

    const start = (index: number) => {
      const startedAt = Date.now();
      // Own process group: a terminal's Ctrl-C reaches the supervisor only, which passes it on once.
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'worker', file], {
        stdio: 'inherit',
        detached: true,
        env: { ...process.env, PARTITA_WORKER_INDEX: String(index) },
      });
      children.set(index, child);
      log(`partita: worker ${index} started (pid ${child.pid})`);
      child.once('exit', (code, signal) => {
        children.delete(index);
        if (stopping) {
          if (children.size === 0) resolve(0);
          return;
        }
        const healthy = Date.now() - startedAt > HEALTHY_UPTIME_MS;
        const delay = healthy ? 0 : Math.min((delays.get(index) ?? FIRST_RESTART_MS / 2) * 2, MAX_RESTART_MS);
        delays.set(index, healthy ? FIRST_RESTART_MS / 2 : delay);
        log(`partita: worker ${index} (pid ${child.pid}) exited with ${signal ?? `code ${code}`}; restarting in ${delay} ms`);
        setTimeout(() => {
          if (!stopping) start(index);
        }, delay);
      });
    };

    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log(`partita: second ${signal}: ${children.size} workers exit without waiting`);
        for (const child of children.values()) child.kill(signal);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      stopping = true;
      log(`partita: ${signal}: stopping ${children.size} workers gracefully (running jobs finish and commit); ${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again exits at once`);
      if (children.size === 0) resolve(0);
      for (const child of children.values()) child.kill(signal);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    for (let index = 0; index < processes; index += 1) start(index);
  });
}
