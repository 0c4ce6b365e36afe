import { configRows, UsageError, type ConfigRow, type ResolvedConfig } from '../index.ts';
import { parseCommand, refuseExtraArguments } from './args.ts';
import { importWorkerFile } from './load-worker-file.ts';

const CONFIG_USAGE = `usage: partita config [<file>] [options]

Prints every option of createApp() and of routes with its default and where it applies: what a
default app runs with. With a worker file, prints the values that file's app resolved instead.

options:
  --markdown                  print Markdown: README's app-option and route-option tables are this output
  -h, --help                  show this help`;

/** `partita config [<file>] [--markdown]`. */
export async function runConfig(args: readonly string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommand('config', args, { markdown: { type: 'boolean' } });
  if (values.help) {
    out(CONFIG_USAGE);
    return 0;
  }
  refuseExtraArguments('config', positionals, 1);
  const [file] = positionals;
  if (file === undefined) {
    const rows = configRows();
    if (values.markdown) out(`${configMarkdown(rows, 'app')}\n\n${configMarkdown(rows, 'routes')}`);
    else out(formatTable(['option', 'default', 'applies to'], rows.map((row) => [row.option, row.defaultText.replace(/`/g, ''), row.appliesTo]), false));
    return 0;
  }
  const { App } = await import('../index.ts');
  const module = await importWorkerFile(file);
  const app = module.default ?? module.app;
  if (!(app instanceof App)) throw new UsageError('config', `${file} must export an app made with createApp() (as default or as "app")`);
  const rows = configRows().filter((row) => !row.option.startsWith('routes.'));
  out(formatTable(['option', 'value', 'applies to'], rows.map((row) => [row.option, formatValue(valueAt(app.config, row)), row.appliesTo]), values.markdown === true));
  return 0;
}

/** One of README's option tables (`partita config --markdown` prints both): the app's options or the route settings. */
export function configMarkdown(rows: readonly ConfigRow[], section: 'app' | 'routes'): string {
  const selected = rows.filter((row) => row.option.startsWith('routes.') === (section === 'routes'));
  return formatTable(['option', 'meaning', 'default', 'applies to'], selected.map((row) => [`\`${row.option.replace(/^routes\./, '')}\``, row.summary, row.defaultText, row.appliesTo]), true);
}

function valueAt(config: ResolvedConfig, row: ConfigRow): unknown {
  return row.option.split('.').reduce<unknown>((value, name) => (value as Record<string, unknown> | undefined)?.[name], config);
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'function') return value.name || 'function';
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  if (value !== null && typeof value === 'object') return value.constructor === Object ? JSON.stringify(value) : 'a logger';
  return String(value);
}

function formatTable(header: readonly string[], rows: readonly (readonly string[])[], markdown: boolean): string {
  if (markdown) {
    const line = (cells: readonly string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
    return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
  }
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((cells) => cells[column]!.length)));
  return [header, ...rows].map((cells) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}
