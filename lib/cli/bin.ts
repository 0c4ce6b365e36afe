#!/usr/bin/env node
// The `partita` command. Exit statuses (README, "Command line"): 0 done, 1 failed, 2 usage error,
// 130/143 a second SIGINT/SIGTERM exited without waiting.
import { UsageError } from '../errors.ts';
import { runCli } from './main.ts';

runCli(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
  (code) => {
    // Exit once stdout has flushed: on a pipe, process.exit would cut a long output (status --json) short.
    if (code >= 0) process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`partita: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
