import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testBrokers, unique, waitFor } from '../support/kafka.ts';
import { jobMessage, produceRaw } from '../support/produce.ts';
import { exited } from '../support/worker-process.ts';
import { DIST_CLI, packOnce, ROOT, runCommand } from './pack.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const { PARTITA_LOG_LEVEL: _inherited, ...cleanEnv } = process.env;

/** `partita <args>` from dist/ with plain node, as an installed package runs it. */
const partita = (args: readonly string[]) => runCommand(process.execPath, [DIST_CLI, ...args], { env: cleanEnv });

describe('partita command line (built, plain node)', function () {
  this.timeout(300_000);
  before(() => packOnce());

  it('prints its version with --version and -v', async () => {
    for (const flag of ['--version', '-v']) {
      const result = await partita([flag]);
      expect(result.code, flag).to.equal(0);
      expect(result.stdout.trim(), flag).to.equal(version);
    }
  });

  it('prints help for itself and every command and subcommand, with --help or -h anywhere (exit 0)', async () => {
    const cases: [string[], string][] = [
      [[], 'usage: partita <command> [options]'],
      [['--help'], 'usage: partita <command> [options]'],
      [['-h'], 'usage: partita <command> [options]'],
      [['worker', '--help'], 'usage: partita worker <file> [options]'],
      [['worker', 'app.js', '-h'], 'usage: partita worker <file> [options]'],
      [['dlq', '--help'], 'usage: partita dlq <subcommand> <dlq-topic> [options]'],
      [['dlq', 'list', '--help'], 'usage: partita dlq list <dlq-topic> [options]'],
      [['dlq', '--help', 'list'], 'usage: partita dlq list <dlq-topic> [options]'],
      [['dlq', 'replay', 'jobs.dlq', '-h'], 'usage: partita dlq replay <dlq-topic> (--all | --source T/P | --offset P@O ...) [options]'],
      [['kafka', '--help'], 'usage: partita kafka <start|stop>'],
      [['kafka', 'start', '--help'], 'usage: partita kafka start'],
      [['kafka', 'stop', '-h'], 'usage: partita kafka stop'],
    ];
    for (const [args, usage] of cases) {
      const result = await partita(args);
      expect(result.code, `partita ${args.join(' ')}: ${result.stderr}`).to.equal(0);
      expect(result.stdout.split('\n')[0], `partita ${args.join(' ')}`).to.equal(usage);
    }
  });

  it('refuses unknown flags, commands and arguments by name, with exit status 2', async () => {
    const cases: [string[], string][] = [
      [['--frobnicate'], 'partita: unknown option --frobnicate (see `partita --help`)'],
      [['frob'], 'partita: unknown command "frob"'],
      [['worker', 'app.js', '--frobnicate'], 'partita worker: unknown option --frobnicate (see `partita worker --help`)'],
      [['worker', '-x', 'app.js'], 'partita worker: unknown option -x'],
      [['worker'], 'partita worker: missing the worker file'],
      [['worker', 'a.js', 'b.js'], 'partita worker: unexpected argument "b.js"'],
      [['worker', 'app.js', '-p'], 'partita worker: option -p, --processes <value> needs a value'],
      [['worker', 'app.js', '--log-level=loud'], 'partita worker: --log-level expects one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
      [['dlq', 'list', 'jobs.dlq', '--all'], 'partita dlq list: unknown option --all'],
      [['dlq', 'show', 'jobs.dlq', '0@1', '--all'], 'partita dlq show: unknown option --all'],
      [['dlq', 'replay', 'jobs.dlq', '--force', '--all'], 'partita dlq replay: unknown option --force'],
      [['dlq', 'purge', 'jobs.dlq'], 'partita dlq: unknown subcommand "purge"'],
      [['dlq', 'list'], 'partita dlq list: missing the dead-letter topic'],
      [['dlq', 'replay', 'jobs.dlq'], 'partita dlq replay: say which dead letters: --all or --offset P@O (or --source T/P)'],
      [['dlq', 'replay', 'jobs.dlq', '--offset=7'], 'partita dlq replay: --offset expects PARTITION@OFFSET such as 0@42, got "7"'],
      [['kafka'], 'partita kafka: missing the subcommand: start or stop'],
      [['kafka', 'restart'], 'partita kafka: unknown subcommand "restart"'],
      [['kafka', 'start', '--nodes', '3'], 'partita kafka: unknown option --nodes'],
    ];
    for (const [args, message] of cases) {
      const result = await partita(args);
      expect(result.code, `partita ${args.join(' ')}`).to.equal(2);
      expect(result.stderr, `partita ${args.join(' ')}`).to.contain(message);
    }
  });

  it('reads --processes as -p N, -pN, --processes N and --processes=N, before or after the file', async () => {
    for (const args of [['worker', 'app.js', '--processes=0'], ['worker', '-p', '0', 'app.js'], ['worker', '-p0', 'app.js'], ['worker', '--processes', '0', 'app.js']]) {
      const result = await partita(args);
      expect(result.code, args.join(' ')).to.equal(2);
      expect(result.stderr, args.join(' ')).to.contain('partita worker: --processes expects a whole number >= 1, got "0"');
    }
    // A valid count before the file: the file is still the file (and, missing, refused before any process starts).
    for (const args of [['worker', '--processes=2', 'missing.js'], ['worker', '-p', '2', 'missing.js']]) {
      const result = await partita(args);
      expect(result.code, args.join(' ')).to.equal(1);
      expect(result.stderr, args.join(' ')).to.contain(`partita: worker file missing.js not found (looked for ${join(ROOT, 'missing.js')})`);
    }
  });

  it('sets PARTITA_LOG_LEVEL from --log-level before the worker file loads, in either position', async () => {
    const file = fixture('print-log-level.mjs');
    for (const [args, level] of [[['worker', '--log-level=debug', file], 'debug'], [['worker', file, '--log-level', 'warn'], 'warn'], [['worker', file], 'undefined']] as const) {
      const result = await partita(args);
      expect(result.stdout, args.join(' ')).to.contain(`PARTITA_LOG_LEVEL=${level}\n`);
      expect(result.stderr).to.contain('must export an app made with createApp()');
    }
  });

  it("loads a TypeScript worker file through the app's tsx", async () => {
    const result = await partita(['worker', fixture('not-an-app.ts')]);
    expect(result.stderr).to.contain(`partita worker: ${fixture('not-an-app.ts')} must export an app made with createApp()`);
    expect(result.code).to.equal(2);
  });

  it('without tsx and without type stripping in this Node, says what to install', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'partita-no-tsx-'));
    try {
      const file = join(dir, 'worker.ts');
      copyFileSync(fixture('not-an-app.ts'), file);
      const result = await partita(['worker', file]);
      if ((process.features as { typescript?: unknown }).typescript) {
        expect(result.stderr, 'this Node strips types itself').to.contain('must export an app made with createApp()');
      } else {
        expect(result.code).to.equal(1);
        expect(result.stderr).to.contain(`partita: worker file ${file} is TypeScript and Node ${process.version} cannot run it by itself`);
        expect(result.stderr).to.contain('npm install --save-dev tsx');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('signals (broker)', () => {
    let child: ChildProcess | undefined;
    afterEach(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
    });

    function startWorker(args: readonly string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
      let output = '';
      const started = spawn(process.execPath, [DIST_CLI, ...args], { env: { ...cleanEnv, ...env, KAFKA_BROKERS: testBrokers().join(',') }, stdio: ['ignore', 'pipe', 'pipe'] });
      started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child = started;
      return { child: started, output: () => output };
    }

    it('after Ctrl-C says at once that it stops gracefully; a second Ctrl-C prints its line and exits 130', async () => {
      const topic = unique('cli-signals');
      const worker = startWorker(['worker', fixture('sleepy-worker.mjs')], { TOPIC: topic, GROUP: unique('cli-group') });
      await waitFor(() => worker.output().includes('worker started in group'), { what: 'the worker to start', timeoutMs: 90_000 });
      await produceRaw(topic, [jobMessage(topic, 'Sleeper', unique('sleeper'), undefined, [])]);
      await waitFor(() => worker.output().includes('sleeper started'), { what: 'the job to start', timeoutMs: 60_000 });

      worker.child.kill('SIGINT');
      await waitFor(() => worker.output().includes('INFO  SIGINT: stopping gracefully (running jobs finish and commit); Ctrl-C again exits at once'), {
        what: `the stopping line (output: ${worker.output()})`,
      });
      expect(worker.child.exitCode, 'the job still runs, so the worker is still stopping').to.equal(null);

      worker.child.kill('SIGINT');
      expect(await exited(worker.child)).to.equal(130);
      expect(worker.output()).to.contain('partita: second SIGINT, exiting without waiting');
    });

    it('partita worker -p 2 <file> runs two workers, says at once that it stops them, and exits 0 once both stopped', async () => {
      const worker = startWorker(['worker', '-p', '2', fixture('sleepy-worker.mjs')], { TOPIC: unique('cli-processes'), GROUP: unique('cli-group'), PARTITIONS: '2' });
      await waitFor(() => worker.output().split('worker started in group').length === 3, { what: `two workers to start (output: ${worker.output()})`, timeoutMs: 120_000 });
      expect(worker.output()).to.contain('partita: worker 0 started').and.contain('partita: worker 1 started');

      worker.child.kill('SIGINT');
      expect(await exited(worker.child)).to.equal(0);
      expect(worker.output()).to.contain('partita: SIGINT: stopping 2 workers gracefully (running jobs finish and commit); Ctrl-C again exits at once');
      expect(worker.output().split('INFO  worker stopped (group').length, worker.output()).to.equal(3);
    });
  });
});
