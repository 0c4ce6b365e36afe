import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * Node arguments that run the `partita` command from its sources (through tsx), for specs whose
 * worker files import `lib/` directly: `spawn(process.execPath, [...SOURCE_CLI, 'worker', file])`.
 * The command as users get it (built, plain node) is what spec/package runs.
 */
export const SOURCE_CLI: readonly string[] = ['--import', tsx, fileURLToPath(new URL('../../lib/cli/bin.ts', import.meta.url))];
