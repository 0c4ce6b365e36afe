/**
 * `npm run chaos` (the full fault suite, about 15 minutes) or `npm run chaos -- --quick` (the CI
 * profile: every fault once, smaller and shorter, about 4 minutes). `--only=leader-kill,freeze`
 * runs some scenarios; `--keep-cluster` leaves the cluster running; `--seed=N` repeats the random
 * moments of a run. The three-broker cluster is started with infra/kafka/start.sh --nodes 3 on
 * KAFKA_PORT (default 9192; brokers 9192, 9194, 9196) and KAFKA_CONTROLLER_PORT (default 9193).
 * Prints each scenario's figures; exits 1 when a figure that must be 0 is not, or a scenario failed.
 */
import { Cluster } from './cluster.ts';
import type { JobFigures } from './events.ts';
import { brokerFreeze, enqueuerKills, leaderKill, leaderMoveDuringSend, PROFILES, rebalanceStorm, transactionBounce, workerKills, type Scenario, type ScenarioResult } from './scenarios.ts';

const SCENARIOS: [string, Scenario][] = [
  ['leader-kill', leaderKill],
  ['freeze', brokerFreeze],
  ['leader-move', leaderMoveDuringSend],
  ['storm', rebalanceStorm],
  ['worker-kill', workerKills],
  ['enqueuer-kill', enqueuerKills],
  ['transactions', transactionBounce],
];

const args = process.argv.slice(2);
const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const profile = PROFILES[args.includes('--quick') ? 'quick' : 'full'];
const only = option('only')?.split(',');
const unknown = only?.filter((name) => !SCENARIOS.some(([known]) => known === name)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map(([name]) => name).join(', ')}`);
  process.exit(2);
}
const seed = Number(option('seed') ?? Date.now() % 1_000_000);
const port = Number(process.env.KAFKA_PORT ?? 9192);
const cluster = new Cluster(port, Number(process.env.KAFKA_CONTROLLER_PORT ?? port + 1));

/** A small deterministic generator, so the random moments of a run can be repeated with --seed. */
function generator(start: number): () => number {
  let state = start;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const FIGURES: [keyof JobFigures, string][] = [
  ['accepted', 'jobs accepted'],
  ['lost', 'jobs lost'],
  ['orderViolations', 'per-key order violations (first executions)'],
  ['commitsPastUnfinished', 'commits past an unfinished job'],
  ['duplicates', 'duplicates (executions beyond the first)'],
];

function report(name: string, result: ScenarioResult, seconds: number): string[] {
  const failures = result.mustBeZero.filter((figure) => result.figures[figure] !== 0).map((figure) => `${figure} = ${result.figures[figure]}`);
  failures.push(...result.problems);
  console.log(`  faults injected: ${result.faults.length}`);
  for (const fault of result.faults) console.log(`    - ${fault}`);
  for (const [figure, label] of FIGURES) {
    console.log(`  ${label}: ${result.figures[figure]}${result.mustBeZero.includes(figure) ? ' (must be 0)' : ''}`);
  }
  if (result.figures.unacknowledgedRuns > 0) console.log(`  jobs run that no produceSync acknowledged (written, but the call failed or its process was killed): ${result.figures.unacknowledgedRuns}`);
  for (const line of [...result.notes, ...result.figures.examples]) console.log(`  ${line}`);
  console.log(`  ${failures.length === 0 ? 'PASS' : `FAIL: ${failures.join('; ')}`} (${seconds.toFixed(0)} s)`);
  return failures.map((failure) => `${name}: ${failure}`);
}

const failures: string[] = [];
const started = Date.now();
console.log(`partita chaos (${profile.name}), seed ${seed}, cluster ${cluster.brokers.join(',')}`);
try {
  await cluster.start();
  const random = generator(seed);
  for (const [name, scenario] of SCENARIOS.filter(([known]) => !only || only.includes(known))) {
    console.log(`\n== ${name}`);
    const scenarioStarted = Date.now();
    try {
      const result = await scenario({ cluster, profile, random });
      failures.push(...report(name, result, (Date.now() - scenarioStarted) / 1000));
    } catch (error) {
      console.log(`  FAIL: ${(error as Error).stack ?? String(error)}`);
      failures.push(`${name}: ${(error as Error).message}`);
    }
    // Every node back (a scenario that failed midway may have left one stopped or frozen).
    for (const node of [1, 2, 3]) {
      try {
        cluster.signal(node, 'SIGCONT');
      } catch {
        // not running: start() below brings it back
      }
    }
    await cluster.start();
  }
} finally {
  if (!args.includes('--keep-cluster')) await cluster.stop().catch((error: Error) => console.error(`stopping the cluster: ${error.message}`));
}
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
console.log(`\nchaos: ${failures.length === 0 ? 'every must-be-0 figure is 0' : `${failures.length} failure(s): ${failures.join(' | ')}`} (${minutes} min)`);
process.exit(failures.length === 0 ? 0 : 1);
