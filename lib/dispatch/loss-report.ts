import { describeLost, type LostMessage } from '../errors.ts';

/** Something holding accepted messages that are not delivered yet. */
export interface UndeliveredSource {
  readonly undelivered: number;
}

const lost: LostMessage[] = [];
const busy = new Set<UndeliveredSource>();
let installed = false;

/** Records async messages given up for good (no caller or delivery scope was told). */
export function reportLost(messages: readonly LostMessage[]): void {
  lost.push(...messages);
  install();
}

/** Counts `source`'s undelivered messages at exit while it is busy. */
export function watchUndelivered(source: UndeliveredSource, isBusy: boolean): void {
  if (isBusy) busy.add(source);
  else busy.delete(source);
  install();
}

/**
 * At exit, a process that lost accepted messages, or still holds undelivered ones (it was made to
 * exit mid-delivery), says so in one line and exits non-zero (an exit status already set is kept).
 * Partita never calls `process.exit` for this: it only sets `process.exitCode`.
 */
function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    let undelivered = 0;
    for (const source of busy) undelivered += source.undelivered;
    if (lost.length === 0 && undelivered === 0) return;
    const parts = [
      lost.length > 0 ? `${describeLost(lost)}` : '',
      undelivered > 0 ? `${undelivered} accepted message${undelivered === 1 ? ' was' : 's were'} still undelivered at exit.` : '',
    ].filter(Boolean);
    if (!process.exitCode) process.exitCode = 1;
    process.stderr.write(`partita: ${parts.join(' ')} Exiting with status ${String(process.exitCode)}.\n`);
  });
}
