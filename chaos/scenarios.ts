/**
 * The faults of the suite. Each scenario runs jobs (or a transactional copy) on the three-broker
 * cluster while it injects its fault, then returns what it injected and the figures.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeDispatcher, configure } from '../lib/index.ts';
import { Kafka, logLevel } from '../lib/kafka/kafkajs.ts';
import { readTopicSnapshot } from '../lib/kafka/topic-reader.ts';
import type { Cluster } from './cluster.ts';
import { AppendedLines, readAccepted, type JobFigures } from './events.ts';
import { alive, exited, JobRun, sleep, waitUntil } from './harness.ts';
import { readCommitted, readCommittedWithJava } from './readers.ts';

/** How big and how long: `full` is the measured run, `quick` the CI profile (every fault once). */
export interface Profile {
  name: 'full' | 'quick';
  jobs: number;
  /** Jobs a second the enqueuer offers. */
  rate: number;
  brokerDownMs: number;
  freezeMs: number;
  stormMs: number;
  workerKills: number;
  enqueuerKills: number;
  transactionInputs: number;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  full: { name: 'full', jobs: 50_000, rate: 800, brokerDownMs: 20_000, freezeMs: 20_000, stormMs: 60_000, workerKills: 10, enqueuerKills: 3, transactionInputs: 20_000 },
  quick: { name: 'quick', jobs: 3000, rate: 300, brokerDownMs: 6000, freezeMs: 6000, stormMs: 12_000, workerKills: 2, enqueuerKills: 1, transactionInputs: 2000 },
};

/** What a scenario reports. `failures` lists every must-be-0 figure that was not 0. */
export interface ScenarioResult {
  faults: string[];
  figures: JobFigures;
  /** Figures that must be 0 in this scenario (duplicates only under exactly-once). */
  mustBeZero: (keyof JobFigures)[];
  notes: string[];
  /** Other failed checks of the scenario. */
  problems: string[];
}

export interface ScenarioContext {
  cluster: Cluster;
  profile: Profile;
  random: () => number;
}

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioResult>;

const PARTITIONS = 6;
const KEYS = 200;
const JOB_MS = 2;
const STALL_MS = 90_000;
const JOB_MUST_BE_ZERO: (keyof JobFigures)[] = ['lost', 'orderViolations', 'commitsPastUnfinished'];

/**
 * The common shape: a topic, `workers` worker processes, one enqueuer of `profile.jobs` jobs at
 * `rate`, the fault injected alongside, then the wait until every record on the topic ran.
 */
async function jobScenario(ctx: ScenarioContext, name: string, options: { workers: number; rate?: number }, inject: (run: JobRun) => Promise<string[]>): Promise<ScenarioResult> {
  const run = new JobRun(ctx.cluster, name, { partitions: PARTITIONS, jobMs: JOB_MS, keys: KEYS });
  try {
    await run.createTopic();
    for (let n = 0; n < options.workers; n += 1) run.startWorker();
    const enqueuer = run.startEnqueuer({ from: 0, jobs: ctx.profile.jobs, rate: options.rate ?? ctx.profile.rate });
    const faults = await inject(run);
    const code = await exited(enqueuer);
    const { figures, note } = await run.finish(STALL_MS);
    return { faults, figures, mustBeZero: JOB_MUST_BE_ZERO, notes: [note], problems: code === 0 ? [] : [`the enqueuer exited with ${code}`] };
  } finally {
    await run.killAll();
  }
}

/** Waits until a share of the profile's jobs was accepted. */
function acceptedShare(run: JobRun, profile: Profile, share: number): Promise<void> {
  return waitUntil(() => run.acceptedCount() >= profile.jobs * share, `${share * 100} % of the jobs accepted`, 180_000, 250);
}

export const leaderKill: Scenario = (ctx) =>
  jobScenario(ctx, 'leader-kill', { workers: 2 }, async (run) => {
    await acceptedShare(run, ctx.profile, 0.3);
    const node = await ctx.cluster.leaderOf(run.topic, 0);
    ctx.cluster.kill(node);
    await sleep(ctx.profile.brokerDownMs);
    const restarting = Date.now();
    await ctx.cluster.start();
    return [`kill -9 of broker ${node} (leader of ${run.topic}/0) at 30 % of the jobs`, `broker ${node} restarted after ${ctx.profile.brokerDownMs / 1000} s (start.sh took ${((Date.now() - restarting) / 1000).toFixed(0)} s)`];
  });

export const brokerFreeze: Scenario = (ctx) =>
  jobScenario(ctx, 'freeze', { workers: 2 }, async (run) => {
    await acceptedShare(run, ctx.profile, 0.2);
    const node = await ctx.cluster.leaderOf(run.topic, 0);
    ctx.cluster.signal(node, 'SIGSTOP');
    try {
      await sleep(ctx.profile.freezeMs);
    } finally {
      ctx.cluster.signal(node, 'SIGCONT');
    }
    return [`SIGSTOP of broker ${node} (leader of ${run.topic}/0) for ${ctx.profile.freezeMs / 1000} s, then SIGCONT`];
  });

/** Worker processes join and leave every 3 s: one joins each tick; beyond two extra, the oldest leaves (SIGTERM). */
export const rebalanceStorm: Scenario = (ctx) =>
  jobScenario(ctx, 'storm', { workers: 1, rate: Math.round(ctx.profile.jobs / (ctx.profile.stormMs / 1000 + 10)) }, async (run) => {
    const [base] = run.workers;
    await sleep(2000);
    const started = Date.now();
    const joined: ReturnType<JobRun['startWorker']>[] = [];
    const leaving: Promise<unknown>[] = [];
    let joins = 0;
    let leaves = 0;
    while (Date.now() - started < ctx.profile.stormMs) {
      joined.push(run.startWorker());
      joins += 1;
      if (joined.length > 2) {
        leaving.push(run.stop(joined.shift()!));
        leaves += 1;
      }
      await sleep(3000);
    }
    for (const child of joined.splice(0)) {
      leaving.push(run.stop(child));
      leaves += 1;
    }
    await Promise.all(leaving);
    if (!base || !alive(base)) throw new Error('the base worker of the storm died');
    return [`${joins} worker joins and ${leaves} leaves (SIGTERM), one every 3 s for ${ctx.profile.stormMs / 1000} s`];
  });

/** kill -9 of a random worker at random moments, a replacement started at once each time. */
export const workerKills: Scenario = (ctx) =>
  jobScenario(ctx, 'worker-kill', { workers: 3 }, async (run) => {
    await acceptedShare(run, ctx.profile, 0.1);
    const moments: number[] = [];
    const started = Date.now();
    for (let k = 0; k < ctx.profile.workerKills; k += 1) {
      await sleep(1000 + Math.floor(ctx.random() * 4000));
      const victims = run.workers.filter(alive);
      const victim = victims[Math.floor(ctx.random() * victims.length)]!;
      await run.kill(victim);
      moments.push((Date.now() - started) / 1000);
      run.startWorker();
    }
    return [`${moments.length} kill -9 of worker processes at ${moments.map((s) => `${s.toFixed(1)} s`).join(', ')}`];
  });

/**
 * kill -9 of an enqueuing process right after one of its produceSync calls resolved (the accepted
 * file grew; seven other calls are in flight), `enqueuerKills` times, each time a new enqueuer
 * taking over. Every accepted job must be on the topic and performed.
 */
export const enqueuerKills: Scenario = async (ctx) => {
  const run = new JobRun(ctx.cluster, 'enqueuer-kill', { partitions: PARTITIONS, jobMs: JOB_MS, keys: KEYS });
  const chunk = Math.ceil(ctx.profile.jobs / ctx.profile.enqueuerKills);
  try {
    await run.createTopic();
    run.startWorker();
    run.startWorker();
    const lines = new AppendedLines(run.acceptedFile);
    let accepted = 0;
    const faults: string[] = [];
    for (let k = 0; k < ctx.profile.enqueuerKills; k += 1) {
      // Twice the chunk: the process is killed before it is done.
      const enqueuer = run.startEnqueuer({ from: k * 2 * chunk, jobs: 2 * chunk, rate: ctx.profile.rate });
      const target = accepted + Math.floor(chunk * (0.3 + 0.7 * ctx.random()));
      await waitUntil(() => (accepted += lines.read().length) >= target, `${target} accepted jobs`, 180_000, 2);
      enqueuer.kill('SIGKILL');
      await exited(enqueuer);
      accepted += lines.read().length;
      faults.push(`kill -9 of the enqueuer after ${accepted} accepted jobs`);
    }
    const { figures, note } = await run.finish(STALL_MS);
    const onTopic = new Set((await readTopicSnapshot(new Kafka({ brokers: ctx.cluster.brokers, logLevel: logLevel.NOTHING }), run.topic)).map((r) => r.headers['job-id']));
    const missing = readAccepted(run.acceptedFile).filter((job) => !onTopic.has(job.id));
    for (const job of missing.slice(0, 3)) figures.examples.push(`not on the topic: ${job.id} (key ${job.key}, seq ${job.seq})`);
    figures.lost = Math.max(figures.lost, missing.length);
    return { faults, figures, mustBeZero: JOB_MUST_BE_ZERO, notes: [note, `${onTopic.size} jobs on the topic, ${missing.length} accepted jobs missing from it`], problems: [] };
  } finally {
    await run.killAll();
  }
};

/**
 * A transactional copy (chaos/copier.ts, offsets in the transaction) while the leader of an
 * output partition is killed -9 and restarted: read_committed readers (kafkajs through Partita's
 * filter, and Kafka's own console consumer) must see every input exactly once.
 */
export const transactionBounce: Scenario = async (ctx) => {
  const id = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const input = `chaos-tx-in-${id}`;
  const output = `chaos-tx-out-${id}`;
  const group = `chaos-tx-${id}`;
  const inputs = ctx.profile.transactionInputs;
  const kafka = new Kafka({ brokers: ctx.cluster.brokers, clientId: 'partita-chaos', logLevel: logLevel.NOTHING });
  await ctx.cluster.createTopic(input, 4);
  await ctx.cluster.createTopic(output, 4);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let n = 0; n < inputs; n += 1000) {
    await producer.send({ topic: input, acks: -1, messages: Array.from({ length: Math.min(1000, inputs - n) }, (_, i) => ({ key: `k${(n + i) % 50}`, value: String(n + i) })) });
  }
  const cli = ['--import', 'tsx', fileURLToPath(new URL('../lib/cli/bin.ts', import.meta.url))];
  const copier = fileURLToPath(new URL('./copier.ts', import.meta.url));
  const env = { PARTITA_LOG_LEVEL: 'warn', ...process.env, INPUT: input, OUTPUT: output, GROUP: group, KAFKA_BROKERS: ctx.cluster.brokers.join(',') };
  const stderrFile = join(mkdtempSync(join(tmpdir(), 'partita-chaos-transactions-')), 'stderr.log');
  const workers = [0, 1].map(() => spawn(process.execPath, [...cli, 'worker', copier], { env, stdio: ['ignore', 'ignore', openSync(stderrFile, 'a')] }));
  const admin = await ctx.cluster.admin();
  const progress = async () => {
    const [entry] = await admin.fetchOffsets({ groupId: group, topics: [input] });
    return (entry?.partitions ?? []).reduce((sum, p) => sum + Math.max(Number(p.offset), 0), 0);
  };
  const faults: string[] = [];
  const started = Date.now();
  let copiedAt = 0;
  try {
    // A coordinator still loading after an earlier scenario's restarts answers COORDINATOR_LOAD_IN_PROGRESS: no progress known yet.
    await waitUntil(async () => (await progress().catch(() => 0)) >= inputs * 0.3, '30 % of the inputs copied', 180_000, 250);
    const node = await ctx.cluster.leaderOf(output, 0);
    ctx.cluster.kill(node);
    await sleep(ctx.profile.brokerDownMs);
    const restarting = Date.now();
    await ctx.cluster.start();
    faults.push(`kill -9 of broker ${node} (leader of ${output}/0) at 30 % of the inputs`, `broker ${node} restarted after ${ctx.profile.brokerDownMs / 1000} s (start.sh took ${((Date.now() - restarting) / 1000).toFixed(0)} s)`);
    let last = -1;
    let lastChange = Date.now();
    for (;;) {
      const now = await progress().catch(() => last);
      copiedAt = Date.now();
      if (now >= inputs || Date.now() - lastChange > STALL_MS) break;
      if (now !== last) [last, lastChange] = [now, Date.now()];
      await sleep(500);
    }
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
    await Promise.all(workers.map(exited));
  }
  const [entry] = await admin.fetchOffsets({ groupId: group, topics: [input] });
  const committed = new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  const reading = Date.now();
  const copies = await readCommitted(kafka, output);
  const javaCopies = await readCommittedWithJava(ctx.cluster.brokers[0]!, output);
  const readSeconds = (Date.now() - reading) / 1000;
  await producer.disconnect();

  const examples: string[] = [];
  const note = (text: string) => examples.length < 5 && examples.push(text);
  const copied = new Set(copies.map((c) => c.value));
  let lost = 0;
  let commitsPastUnfinished = 0;
  for (const record of await readTopicSnapshot(kafka, input)) {
    if (copied.has(`${record.partition}@${record.offset}`)) continue;
    lost += 1;
    note(`lost: input ${record.partition}@${record.offset} has no committed copy`);
    if (record.offset < (committed.get(record.partition) ?? 0)) commitsPastUnfinished += 1;
  }
  let orderViolations = 0;
  const lastOfKey = new Map<string, number>();
  for (const copy of copies) {
    const offset = Number(copy.value.split('@')[1]);
    const before = lastOfKey.get(copy.key);
    lastOfKey.set(copy.key, offset);
    if (before === undefined || offset > before) continue;
    orderViolations += 1;
    note(`order: key ${copy.key}: the copy of offset ${offset} follows that of ${before}`);
  }
  const javaAgrees = JSON.stringify([...javaCopies].sort()) === JSON.stringify(copies.map((c) => c.value).sort());
  await ctx.cluster.deleteTopics([input, output]).catch(() => undefined);
  const figures: JobFigures = { accepted: inputs, lost, orderViolations, commitsPastUnfinished, duplicates: copies.length - copied.size, unacknowledgedRuns: 0, examples };
  const copiedInputs = [...committed.values()].reduce((sum, offset) => sum + Math.max(offset, 0), 0);
  const notes = [
    `${copiedInputs} of ${inputs} input offsets committed, the last ${((copiedAt - started) / 1000).toFixed(1)} s after the copiers started`,
    `${copies.length} committed copies read by kafkajs, ${javaCopies.length} by Kafka's console consumer (both reads: ${readSeconds.toFixed(0)} s); copier logs in ${stderrFile}`,
  ];
  const problems = javaAgrees ? [] : ["Kafka's console consumer and the kafkajs reader saw different copies"];
  return { faults, figures, mustBeZero: ['lost', 'orderViolations', 'commitsPastUnfinished', 'duplicates'], notes, problems };
};

/**
 * One produceSync across two partitions while the leader of the first is frozen and its leadership
 * moves (by replica order) to the broker that leads the second and has already answered for it.
 * kafkajs 2.2.4's retry sends only to brokers without an answer: without Partita's resend of the
 * unanswered partitions, the call resolves and the first partition's messages are not on the topic.
 */
export const leaderMoveDuringSend: Scenario = async (ctx) => {
  const topic = `chaos-leader-move-${Date.now().toString(36)}${process.pid.toString(36)}`;
  const admin = await ctx.cluster.admin();
  await admin.createTopics({ waitForLeaders: false, topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }, { partition: 1, replicas: [2, 3, 1] }] }] });
  await ctx.cluster.waitForLeaders(topic, 2);
  const dispatcher = await configure({ kafka: { brokers: ctx.cluster.brokers, clientId: 'chaos-leader-move', logLevel: 'nothing' }, handleSignals: false });
  const faults: string[] = [];
  const examples: string[] = [];
  const perPartition = 100;
  let accepted = 0;
  try {
    // Connected and warm before the freeze, so the send itself meets it.
    await dispatcher.produceSync([{ topic, key: 'warm', value: 'warm', headers: {}, partition: 1 }]);
    ctx.cluster.signal(1, 'SIGSTOP');
    faults.push(`SIGSTOP of broker 1 (leader of ${topic}/0; broker 2 leads ${topic}/1 and is next for /0) for ${ctx.profile.freezeMs / 1000} s, one produceSync of ${2 * perPartition} messages across both partitions meanwhile`);
    const messages = [0, 1].flatMap((partition) => Array.from({ length: perPartition }, (_, n) => ({ topic, key: `p${partition}`, value: `${partition}-${n}`, headers: {}, partition })));
    const sending = dispatcher.produceSync(messages);
    await sleep(ctx.profile.freezeMs);
    ctx.cluster.signal(1, 'SIGCONT');
    const deliveries = await sending.catch((error: Error) => {
      examples.push(`the produceSync was rejected: ${error.message}`);
      return [];
    });
    accepted = deliveries.length;
  } finally {
    ctx.cluster.signal(1, 'SIGCONT');
    await closeDispatcher();
  }
  const values = (await readTopicSnapshot(new Kafka({ brokers: ctx.cluster.brokers, logLevel: logLevel.NOTHING }), topic)).map((r) => r.value?.toString() ?? '').filter((v) => v !== 'warm');
  const onTopic = new Set(values);
  const lost = accepted === 0 ? 0 : 2 * perPartition - [...onTopic].length;
  if (lost > 0) examples.push(`${lost} messages the resolved produceSync acknowledged are not on the topic (partition 0 has ${values.filter((v) => v.startsWith('0-')).length})`);
  await ctx.cluster.deleteTopics([topic]).catch(() => undefined);
  const figures: JobFigures = { accepted, lost, orderViolations: 0, commitsPastUnfinished: 0, duplicates: values.length - onTopic.size, unacknowledgedRuns: 0, examples };
  return { faults, figures, mustBeZero: ['lost'], notes: [`${values.length} messages on the topic`], problems: [] };
};
