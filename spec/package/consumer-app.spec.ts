import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testBrokers, unique, waitFor } from '../support/kafka.ts';
import { exited } from '../support/worker-process.ts';
import { packOnce, ROOT, runCommand, type PackedPackage } from './pack.ts';

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };

/** A team's app as the README's "Install in your app" builds it: its own strict tsconfig, partita from the tarball. */
const APP_FILES: Record<string, string> = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2022'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      exactOptionalPropertyTypes: true,
      noPropertyAccessFromIndexSignature: true,
      skipLibCheck: false,
      rootDir: 'src',
      outDir: 'dist',
      types: ['node'],
    },
    include: ['src'],
  }),
  'src/env.ts': `export function env(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(\`set \${name}\`);
  return value;
}
`,
  'src/jobs.ts': `import { appendFileSync } from 'node:fs';
import { Job } from 'partita';
import { env } from './env.js';

export class WriteProof extends Job<[word: string, at: Date]> {
  static override options = { topic: env('TOPIC'), partitioner: (job: Job<any[]>) => String(job.arguments[0]) };

  perform(word: string, at: Date): void {
    appendFileSync(env('PROOF_FILE'), \`\${word} \${at instanceof Date} \${this.jobId}\\n\`);
  }
}
`,
  'src/worker.ts': `import { createApp } from 'partita';
import { env } from './env.js';
import { WriteProof } from './jobs.js';

const app = createApp({
  clientId: 'consumer-app',
  groupId: env('GROUP'),
  kafka: { brokers: env('KAFKA_BROKERS').split(','), logLevel: 'warn' },
  jobs: [WriteProof],
  commitIntervalMs: 50,
}).routes((r) => {
  r.activeJobTopic(env('TOPIC'), (t) => t.config({ partitions: 1 }));
});
app.on('job.failed', ({ error }) => console.error('job failed', error));
export default app;
`,
  'src/enqueue.ts': `import { closeDispatcher, configure } from 'partita';
import { env } from './env.js';
import { WriteProof } from './jobs.js';

await configure({ kafka: { brokers: env('KAFKA_BROKERS').split(',') } });
const { jobId } = await WriteProof.performLater('delivered', new Date());
await closeDispatcher();
console.log(\`enqueued \${jobId}\`);
`,
  'src/testing.ts': `import { useTestDispatcher, type TestDispatcher } from 'partita/testing';

export function captureJobs(): Promise<TestDispatcher> {
  return useTestDispatcher();
}
`,
  'check-require.cjs': `const partita = require('partita');
if (typeof partita.createApp !== 'function' || typeof partita.Job !== 'function') throw new Error('require("partita") gave ' + Object.keys(partita));
if (typeof require('partita/testing').useTestDispatcher !== 'function') throw new Error('require("partita/testing") has no useTestDispatcher');
console.log('required partita: ' + Object.keys(partita).length + ' exports');
`,
};

describe('partita as an installed package (npm pack, a consumer app, the broker)', function () {
  this.timeout(300_000);
  let pack: PackedPackage;
  let dir: string;
  let worker: ChildProcess | undefined;

  before(async () => {
    pack = await packOnce();
    dir = mkdtempSync(join(tmpdir(), 'partita-consumer-'));
    for (const [file, text] of Object.entries(APP_FILES)) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, type: 'module' }));
    const install = await runCommand(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', pack.tarball, `typescript@${manifest.devDependencies['typescript']}`, `@types/node@${manifest.devDependencies['@types/node']}`],
      { cwd: dir, timeoutMs: 240_000 },
    );
    expect(install.code, install.stderr).to.equal(0);
  });

  after(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGKILL');
      await exited(worker);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('ships dist/ with its types, the README, the licence and the broker scripts, and nothing else', () => {
    const allowed = /^(package\.json|README\.md|LICENSE|dist\/.+\.(js|js\.map|d\.ts)|dist\/web\/assets\/[a-z-]+\.(css|js)|infra\/kafka\/(README\.md|common\.sh|log4j2\.xml|pom\.xml|server\.properties\.template|start\.sh|stop\.sh))$/;
    expect(pack.files.filter((file) => !allowed.test(file))).to.deep.equal([]);
    expect(pack.files).to.include.members(['LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/testing/index.js', 'dist/testing/index.d.ts', 'dist/cli/bin.js', 'infra/kafka/start.sh', 'infra/kafka/pom.xml']);
    expect(pack.files.filter((file) => /^(spec|bench|lib)\//.test(file) || (file.endsWith('.ts') && !file.endsWith('.d.ts')))).to.deep.equal([]);
  });

  it('type-checks under the app\'s strict tsconfig (exactOptionalPropertyTypes, noPropertyAccessFromIndexSignature, skipLibCheck off)', async () => {
    const tsc = await runCommand(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { cwd: dir });
    expect(tsc.code, tsc.stdout + tsc.stderr).to.equal(0);
    expect(existsSync(join(dir, 'dist/worker.js'))).to.equal(true);
    expect(existsSync(join(dir, 'dist/testing.js')), 'partita/testing resolves through the exports pattern').to.equal(true);
  });

  it('runs a job end to end with plain node: performLater + closeDispatcher in a script, `partita worker dist/worker.js` performs it', async () => {
    const proof = join(dir, 'proof.txt');
    const env = { ...process.env, KAFKA_BROKERS: testBrokers().join(','), TOPIC: unique('consumer-app'), GROUP: unique('consumer-group'), PROOF_FILE: proof };
    worker = spawn(join(dir, 'node_modules/.bin/partita'), ['worker', 'dist/worker.js'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes('worker started in group'), { what: `the worker to start (output: ${output})`, timeoutMs: 90_000 });

    const enqueue = await runCommand(process.execPath, ['dist/enqueue.js'], { cwd: dir, env });
    expect(enqueue.code, enqueue.stderr).to.equal(0);
    const jobId = /enqueued (\S+)/.exec(enqueue.stdout)?.[1];
    expect(jobId, enqueue.stdout).to.be.a('string');

    await waitFor(() => existsSync(proof), { what: 'the job to write its proof', timeoutMs: 60_000 });
    expect(readFileSync(proof, 'utf8')).to.equal(`delivered true ${jobId}\n`);

    worker.kill('SIGINT');
    expect(await exited(worker)).to.equal(0);
    expect(output).to.contain('INFO  SIGINT: stopping gracefully');
  });

  it('loads from CommonJS: a .cjs file can require("partita") and "partita/testing" (Node\'s require of ES modules)', async () => {
    const required = await runCommand(process.execPath, ['check-require.cjs'], { cwd: dir });
    expect(required.code, required.stderr).to.equal(0);
    expect(required.stdout).to.match(/required partita: \d+ exports/);
  });
});
