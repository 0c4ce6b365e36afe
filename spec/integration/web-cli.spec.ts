import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { SOURCE_CLI } from '../support/cli.ts';
import { testBrokers, waitFor } from '../support/kafka.ts';
import { freePort } from '../support/ports.ts';

/** `partita web ...` from the sources, its output collected. */
function partitaWeb(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...SOURCE_CLI, 'web', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PARTITA_WEB_TOKEN: undefined, PARTITA_WEB_BASIC: undefined } });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('partita web (broker)', function () {
  this.timeout(60_000);
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('serves the pages on 127.0.0.1 and stops on SIGTERM', async () => {
    const port = await freePort();
    const web = partitaWeb(['--port', String(port), '--brokers', testBrokers().join(',')]);
    children.push(web.child);
    await waitFor(() => web.output().includes(`partita web: http://127.0.0.1:${port}/`), { what: `the URL line (output so far: ${web.output()})` });
    const response = await fetch(`http://127.0.0.1:${port}/topics`);
    expect(response.status).to.equal(200);
    expect(await response.text()).to.contain('<h1>Topics</h1>');
    web.child.kill('SIGTERM');
    expect(await web.exited).to.equal(0);
  });

  it('refuses a non-loopback address without --token or --basic, and starts with one', async () => {
    const refused = partitaWeb(['--host', '0.0.0.0', '--port', '0', '--brokers', testBrokers().join(',')]);
    children.push(refused.child);
    expect(await refused.exited).to.equal(1);
    expect(refused.output()).to.contain('refuses to listen on 0.0.0.0 without authentication');
    const port = await freePort();
    const guarded = partitaWeb(['--host', '0.0.0.0', '--port', String(port), '--token', 'a-token-of-some-length-0123', '--brokers', testBrokers().join(',')]);
    children.push(guarded.child);
    await waitFor(() => guarded.output().includes('?token=<your token>'), { what: `the URL line (output so far: ${guarded.output()})` });
    expect((await fetch(`http://127.0.0.1:${port}/topics`)).status).to.equal(401);
    expect((await fetch(`http://127.0.0.1:${port}/topics`, { headers: { authorization: 'Bearer a-token-of-some-length-0123' } })).status).to.equal(200);
    guarded.child.kill('SIGTERM');
    expect(await guarded.exited).to.equal(0);
  });
});
