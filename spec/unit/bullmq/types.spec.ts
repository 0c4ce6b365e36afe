import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const fixtures = path.join(root, 'spec/types');

/**
 * Type-checks `sources` (file name in spec/types → text) with the repository's tsconfig, as if they
 * were files there, and returns each one's diagnostics as text.
 */
function typecheck(sources: Record<string, string>): Record<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  })!;
  const files = new Map(Object.entries(sources).map(([name, text]) => [path.join(fixtures, name), text]));
  const host = ts.createCompilerHost(config.options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => files.get(file) ?? readFile.call(host, file);
  host.getSourceFile = (file, language, ...rest) => {
    const text = files.get(file);
    return text === undefined ? getSourceFile.call(host, file, language, ...rest) : ts.createSourceFile(file, text, language);
  };
  const program = ts.createProgram([...files.keys()], config.options, host);
  const result: Record<string, string[]> = {};
  for (const [file] of files) {
    result[path.basename(file)] = ts
      .getPreEmitDiagnostics(program, program.getSourceFile(file))
      .map((d) => `${d.file ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  }
  return result;
}

const fixture = (name: string) => readFileSync(path.join(fixtures, name), 'utf8');
const importFrom = (source: string, from: string, to: string) => {
  const changed = source.replace(`from '${from}';`, `from '${to}';`);
  expect(changed, `the fixture imports from '${from}'`).to.not.equal(source);
  return changed;
};

describe('partita/bullmq types against BullMQ\'s own .d.ts (B1, no broker)', function () {
  this.timeout(180_000);

  it('BullMQ quick-start code compiles against bullmq and, with only the import changed, against partita/bullmq; refused options are type errors there and valid BullMQ', () => {
    const quickstart = fixture('bullmq-quickstart.ts');
    const refused = fixture('bullmq-refused.ts');
    const markers = refused.match(/@ts-expect-error/g)?.length ?? 0;
    expect(markers, '@ts-expect-error lines in the refused fixture').to.be.at.least(7);

    const onBullmq = typecheck({
      'quickstart.on-bullmq.ts': quickstart,
      'refused.on-bullmq.ts': importFrom(refused.replace(/^\s*\/\/ @ts-expect-error.*\n/gm, ''), 'partita/bullmq', 'bullmq'),
    });
    expect(onBullmq['quickstart.on-bullmq.ts']).to.deep.equal([]);
    expect(onBullmq['refused.on-bullmq.ts'], 'every refused line is valid BullMQ').to.deep.equal([]);

    const onPartita = typecheck({
      'quickstart.on-partita.ts': importFrom(quickstart, 'bullmq', 'partita/bullmq'),
      'refused.on-partita.ts': refused,
    });
    expect(onPartita['quickstart.on-partita.ts']).to.deep.equal([]);
    expect(onPartita['refused.on-partita.ts'], 'every @ts-expect-error line is an error on partita/bullmq').to.deep.equal([]);
  });
});
