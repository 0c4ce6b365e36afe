import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const example = fileURLToPath(new URL('./examples/node-test.example.ts', import.meta.url));

describe('partita/testing under node:test', () => {
  it('runs the README example (imports partita and partita/testing by their package names) and passes', async function () {
    this.timeout(60_000);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--conditions=partita-source', '--test', '--test-reporter=tap', example]);
    expect(stdout).to.contain('# pass 2');
    expect(stdout).to.contain('# fail 0');
  });
});
