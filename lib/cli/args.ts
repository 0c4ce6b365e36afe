import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.ts';

/** The options of one command, in `node:util` parseArgs form (`--help`/`-h` is added to each). */
export type CommandOptions = NonNullable<ParseArgsConfig['options']>;

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/** What a flag's value parses to: `boolean` for a switch, `string` otherwise, an array when repeatable. */
type OptionValue<Option> = Option extends { type: 'boolean' } ? (Option extends { multiple: true } ? boolean[] : boolean) : Option extends { multiple: true } ? string[] : string;

/** A parsed command line: the flags given (absent when not given) and the positionals in order. */
export interface ParsedCommand<O extends CommandOptions> {
  values: { [Name in keyof O]?: OptionValue<O[Name]> } & { help?: boolean };
  positionals: string[];
}

/**
 * Parses one command's arguments: flags anywhere among the positionals, `--flag value`,
 * `--flag=value`, short forms (`-p 2`), `--` to end the flags. An unknown flag, a flag without its
 * value or a value given to a switch is a {@link UsageError} naming the flag and the command.
 */
export function parseCommand<const O extends CommandOptions>(command: string, args: readonly string[], options: O): ParsedCommand<O> {
  try {
    return parseArgs({ args: [...args], options: { ...options, ...HELP }, allowPositionals: true, strict: true }) as ParsedCommand<O>;
  } catch (error) {
    if (isParseArgsError(error)) throw new UsageError(command, describeParseError(error));
    throw error;
  }
}

/** Refuses positionals beyond the `expected` count, naming the first extra one. */
export function refuseExtraArguments(command: string, positionals: readonly string[], expected: number): void {
  const extra = positionals[expected];
  if (extra !== undefined) throw new UsageError(command, `unexpected argument ${JSON.stringify(extra)}`);
}

function isParseArgsError(error: unknown): error is Error & { code: string } {
  const code: unknown = error instanceof TypeError ? (error as TypeError & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** Node's messages name the flag; the advice about `--` they append is not ours to give. */
function describeParseError(error: Error & { code: string }): string {
  const unknown = /^Unknown option '([^']+)'/.exec(error.message);
  if (unknown) return `unknown option ${unknown[1]}`;
  const missing = /^Option '([^']+)' argument (?:missing|is ambiguous)/.exec(error.message);
  if (missing) return `option ${missing[1]} needs a value`;
  const switchWithValue = /^Option '([^']+)' does not take an argument/.exec(error.message);
  if (switchWithValue) return `option ${switchWithValue[1]} takes no value`;
  return error.message;
}
