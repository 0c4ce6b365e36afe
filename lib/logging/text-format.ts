/** pino's numeric levels and their names in text lines. */
const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

const INDENT = '    ';

/**
 * Turns one pino JSON record into a text line: `<ISO time> <LEVEL> <message>`, then the stack of
 * its `err` (and of its causes) on indented lines below, without the error's header lines, which
 * the message already carries. Every line after the first is indented, so the level starts a line
 * once per record. A line that is not a pino record is passed through.
 */
export function formatTextLine(line: string): string {
  let record: { level?: unknown; time?: unknown; msg?: unknown; err?: { stack?: unknown } };
  try {
    record = JSON.parse(line) as typeof record;
  } catch {
    return line;
  }
  if (record === null || typeof record !== 'object') return line;
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString() : new Date().toISOString();
  const level = LEVEL_NAMES[record.level as number] ?? String(record.level);
  const message = String(record.msg ?? '').replace(/\r?\n/g, `\n${INDENT}`);
  const stack = typeof record.err?.stack === 'string' ? stackLines(record.err.stack) : [];
  return `${time} ${level.padEnd(5)} ${message}\n${stack.map((frame) => `${frame}\n`).join('')}`;
}

/** The frames of a stack (from its first `at` line on), and each `caused by:` with its frames. */
function stackLines(stack: string): string[] {
  const lines = stack.split(/\r?\n/);
  const first = lines.findIndex((text) => /^\s+at /.test(text));
  if (first < 0) return [];
  return lines.slice(first).filter((text) => text.trim() !== '').map((text) => (/^\s/.test(text) ? text : `${INDENT}${text}`));
}
