import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The repository's root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The built command, as `npx partita` runs it from an install: plain node, no loader. */
export const DIST_CLI = join(ROOT, 'dist/cli/bin.js');

const run = promisify(execFile);

/** The tarball `npm pack` made and the paths it holds. */
export interface PackedPackage {
  tarball: string;
  files: string[];
  size: number;
}

let packed: Promise<PackedPackage> | undefined;

/**
 * `npm pack` of this repository, once per mocha run. Its `prepack` script builds `dist/` first, so
 * specs that run {@link DIST_CLI} call this too and test what they see, not an older build.
 */
export function packOnce(): Promise<PackedPackage> {
  packed ??= (async () => {
    const destination = mkdtempSync(join(tmpdir(), 'partita-pack-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destination], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    // prepack's own output (the build) precedes the JSON report.
    const [report] = JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as { filename: string; size: number; files: { path: string }[] }[];
    return { tarball: join(destination, report!.filename), files: report!.files.map((f) => f.path), size: report!.size };
  })();
  return packed;
}

/** Runs a command to its end; resolves with its exit code and output (never rejects on a non-zero exit). */
export async function runCommand(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(file, [...args], { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
