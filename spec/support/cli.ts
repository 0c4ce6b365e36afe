import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * Node arguments that run the `partita` command from its sources (through tsx), for specs whose
 * worker files import `lib/` directly: `spawn(process.execPath, [...SOURCE_CLI, 'worker', file])`.
 * The command as users get it (built, plain node) is what spec/package runs.
 */
export const SOURCE_CLI: readonly string[] = ['--import', tsx, fileURLToPath(new URL('../../lib/cli/bin.ts', import.meta.url))];

/** What a run of the `partita` command from its sources printed, and how it exited. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `partita <args>` from its sources (see {@link SOURCE_CLI}) to its exit, with this process's environment. */
export function runSourceCli(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...SOURCE_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
