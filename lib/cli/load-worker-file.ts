import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkerFileError } from '../errors.ts';

const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);

/**
 * Imports the worker file `partita worker` was given. A JavaScript file is imported as it is. A
 * TypeScript file goes through the app's own tsx (resolved from the file's directory, so the
 * app's version is used) when the app has it installed, else through Node's own type stripping
 * where this Node has it; otherwise a {@link WorkerFileError} says what to install.
 */
export async function importWorkerFile(file: string): Promise<{ default?: unknown; app?: unknown }> {
  const path = resolveWorkerFile(file);
  if (TYPESCRIPT_EXTENSIONS.has(extname(path))) await enableTypeScript(file, path);
  return (await import(pathToFileURL(path).href)) as { default?: unknown; app?: unknown };
}

/** The worker file's absolute path; a {@link WorkerFileError} when there is no such file. */
export function resolveWorkerFile(file: string): string {
  const path = resolve(file);
  if (!existsSync(path)) throw new WorkerFileError(`worker file ${file} not found (looked for ${path})`);
  return path;
}

async function enableTypeScript(file: string, path: string): Promise<void> {
  // tsx's main entry is the loader `node --import tsx` runs: importing it registers its hooks.
  const tsx = resolveFrom(path, 'tsx');
  if (tsx !== undefined) {
    await import(pathToFileURL(tsx).href);
    return;
  }
  // `process.features.typescript` is 'strip' or 'transform' where Node strips types (22.18+, 23.6+).
  if ((process.features as { typescript?: unknown }).typescript) return;
  throw new WorkerFileError(
    `worker file ${file} is TypeScript and Node ${process.version} cannot run it by itself. ` +
      'Install tsx in your app (npm install --save-dev tsx), use a Node that strips types (22.18 or later), ' +
      'or compile the file and run the .js output.',
  );
}

function resolveFrom(path: string, specifier: string): string | undefined {
  try {
    return createRequire(path).resolve(specifier);
  } catch {
    return undefined;
  }
}
