import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { listRecurringSchedules } from '../../lib/admin/index.ts';
import { createApp, type App } from '../../lib/app.ts';
import { Job } from '../../lib/job/job.ts';
import type { MissedTickPolicy } from '../../lib/schedule/cron.ts';
import { SOURCE_CLI } from '../support/cli.ts';
import { recurringStateTopic } from '../../lib/kafka/recurring-state.ts';
import { createTopic, rawKafka, testBrokers, unique, visibleValues, waitFor } from '../support/kafka.ts';
import { exited } from '../support/worker-process.ts';

const WORKER = fileURLToPath(new URL('../support/recurring-worker.ts', import.meta.url));
const SECOND = 1_000;
const WINDOW_MS = 1_000;

/** The tick (the envelope's scheduled_at) of every job a read_committed reader sees on `topic`. */
async function committedTicks(topic: string): Promise<number[]> {
  return (await visibleValues(topic)).map((value) => Date.parse((JSON.parse(value) as { json: { scheduled_at: string } }).json.scheduled_at));
}

interface TickerLine {
  pid: number;
  e: 'owned' | 'released' | 'enqueued';
  tick?: number;
  at: number;
}

/** A `partita worker` child running spec/support/recurring-worker.ts, with the lines it printed. */
function startTicker(env: Record<string, string>, lines: TickerLine[]): ChildProcess {
  const child = spawn(process.execPath, [...SOURCE_CLI, 'worker', WORKER], { env: { ...process.env, ...env, KAFKA_BROKERS: testBrokers().join(',') }, stdio: ['ignore', 'pipe', 'inherit'] });
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = pending + chunk.toString();
    const complete = text.split('\n');
    pending = complete.pop()!;
    for (const entry of complete) if (entry.startsWith('{')) lines.push(JSON.parse(entry) as TickerLine);
  });
  return child;
}

/** The pid that owns the ticker now according to the lines (its last word was `owned`), if any. */
function currentOwner(lines: TickerLine[], alive: ReadonlySet<number>): number | undefined {
  const last = new Map<number, TickerLine['e']>();
  for (const line of lines) if (line.e !== 'enqueued') last.set(line.pid, line.e);
  return [...last].find(([pid, e]) => e === 'owned' && alive.has(pid))?.[0];
}

function duplicates(ticks: number[]): number[] {
  const seen = new Set<number>();
  return ticks.filter((tick) => (seen.has(tick) ? true : (seen.add(tick), false)));
}

describe('recurring jobs (broker)', function () {
  this.timeout(240_000);

  it('three worker processes, the owner killed -9 and restarted: exactly one job per tick for 60 s, no gap, no repeat', async () => {
    const topic = await createTopic(unique('recurring-ticks'), 1);
    const group = unique('recurring');
    const env = { TOPIC: topic, GROUP: group, PARTITA_LOG_LEVEL: 'warn' };
    const lines: TickerLine[] = [];
    const children = [0, 1, 2].map(() => startTicker(env, lines));
    const alive = () => new Set(children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => c.pid!));
    try {
      await waitFor(() => lines.filter((l) => l.e === 'enqueued').length >= 3, { what: 'the first three ticks', timeoutMs: 90_000, intervalMs: 100 });
      const windowStart = lines.filter((l) => l.e === 'enqueued')[2]!.tick!;
      const windowEnd = windowStart + 60 * SECOND;

      await waitFor(() => lines.some((l) => l.e === 'enqueued' && l.tick! >= windowStart + 25 * SECOND), { what: '25 s of ticks', timeoutMs: 60_000, intervalMs: 100 });
      const owner = currentOwner(lines, alive());
      expect(owner, 'a live process owns the ticker').to.not.equal(undefined);
      const victim = children.find((c) => c.pid === owner)!;
      victim.kill('SIGKILL');
      await exited(victim);
      const killedAt = Date.now();
      children.push(startTicker(env, lines));

      await waitFor(() => lines.some((l) => l.e === 'enqueued' && l.tick! >= windowEnd), { what: 'ticks past the 60 s window', timeoutMs: 90_000, intervalMs: 100 });
      const successors = new Set(lines.filter((l) => l.e === 'owned' && l.at >= killedAt).map((l) => l.pid));
      expect([...successors], 'another process took the ticker over').to.not.include(owner).and.not.be.empty;
      const takenOverAt = Math.min(...lines.filter((l) => l.e === 'owned' && l.at >= killedAt).map((l) => l.at));
      const caughtUp = lines.filter((l) => l.e === 'enqueued' && l.pid !== owner && l.tick! > killedAt - SECOND && l.tick! < takenOverAt).map((l) => l.tick!);

      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.all(children.map(exited));

      const ticks = (await committedTicks(topic)).sort((a, b) => a - b);
      const inWindow = ticks.filter((tick) => tick >= windowStart && tick < windowEnd);
      expect(duplicates(ticks), 'ticks enqueued twice').to.deep.equal([]);
      expect(inWindow, 'one job per second of the window').to.deep.equal(Array.from({ length: 60 }, (_, n) => windowStart + n * SECOND));
      const gaps = ticks.slice(1).filter((tick, n) => tick - ticks[n]! !== SECOND);
      expect(gaps, 'no gap anywhere').to.deep.equal([]);
      // The failover really happened inside the window and was caught up by the new owner.
      expect(killedAt).to.be.below(windowEnd);
      expect(caughtUp, 'the successor enqueued the ticks that fell due while nobody owned the ticker').to.not.be.empty;
      console.log(`      recurring: ${inWindow.length} jobs in the 60 s window, ${ticks.length} in all, 0 repeats, 0 gaps; ${caughtUp.length} ticks fell due during the takeover (${takenOverAt - killedAt} ms) and were caught up`);
    } finally {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.all(children.map(exited));
    }
  });

  it("a previous owner's open round is aborted by the takeover: its job never runs, its state is never read", async () => {
    const topic = await createTopic(unique('recurring-zombie'), 1);
    const group = unique('recurring');
    const stateTopic = await createTopic(recurringStateTopic(group), 1);
    class Tick extends Job<[]> {
      static override options = { topic };
      async perform(): Promise<void> {}
    }
    // A crashed owner in the middle of a round: its transaction (the ticker's transactional id)
    // holds a job and a state record that would silence the schedule for an hour, and is never
    // ended. Its timeout is ten minutes, so only fencing can end it before the spec gives up.
    const zombie = rawKafka().producer({ transactionalId: `${group}-${stateTopic}-0`, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 600_000 });
    await zombie.connect();
    const open = await zombie.transaction();
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    await open.send({ topic, messages: [{ value: 'zombie-job' }] });
    await open.send({
      topic: stateTopic,
      messages: [{ key: 'every-second', partition: 0, value: JSON.stringify({ schedule: 'every-second', cron: '* * * * * *', timezone: 'UTC', jobClass: 'Tick', topic, missed: 'run-once', catchUpWindowMs: 60_000, lastTick: inAnHour, lastEnqueuedTick: inAnHour, updatedAt: inAnHour, owner: 'zombie' }) }],
    });
    const enqueued: number[] = [];
    const app = createApp({ clientId: 'recurring-spec', groupId: group, kafka: { brokers: testBrokers(), logLevel: 'nothing' }, logLevel: 'silent' }).routes((r) => r.recurring('every-second', '* * * * * *', Tick, []));
    app.on('recurring.enqueued', ({ tick }) => enqueued.push(tick.getTime()));
    try {
      await app.run();
      await waitFor(() => enqueued.length >= 3, { what: 'three ticks after the takeover', timeoutMs: 60_000, intervalMs: 50 });
    } finally {
      await app.stop();
      await zombie.disconnect();
    }
    const committed = await visibleValues(topic);
    expect(committed).to.not.include('zombie-job');
    expect(await visibleValues(topic, { uncommitted: true }), 'the zombie job was written, then aborted').to.include('zombie-job');
    expect(duplicates(await committedTicks(topic))).to.deep.equal([]);
    expect((await committedTicks(topic)).length).to.be.at.least(3);
  });

  for (const missed of ['skip', 'run-once'] as const satisfies readonly MissedTickPolicy[]) {
    it(`missed: '${missed}': ticks that fell due while no worker ran ${missed === 'skip' ? 'enqueue nothing' : 'enqueue one job, for the newest'}`, async () => {
      const topic = await createTopic(unique(`recurring-${missed}`), 1);
      const group = unique('recurring');
      class Tick extends Job<[]> {
        static override options = { topic };
        async perform(): Promise<void> {}
      }
      const skipped: { first: Date; last: Date }[] = [];
      const enqueued: number[] = [];
      const owned: number[] = [];
      const start = async (): Promise<App> => {
        const app = createApp({ clientId: 'recurring-spec', groupId: group, kafka: { brokers: testBrokers(), logLevel: 'nothing' }, logLevel: 'silent', consumer: { sessionTimeout: 3000, heartbeatInterval: 500 } }).routes((r) =>
          r.recurring('every-second', '* * * * * *', Tick, [], { missed, catchUpWindowMs: WINDOW_MS }),
        );
        app.on('recurring.owned', () => owned.push(Date.now()));
        app.on('recurring.skipped', (event) => skipped.push(event));
        app.on('recurring.enqueued', ({ tick }) => enqueued.push(tick.getTime()));
        await app.run();
        return app;
      };
      const first = await start();
      try {
        await waitFor(() => enqueued.length >= 2, { what: 'two ticks', timeoutMs: 60_000, intervalMs: 50 });
      } finally {
        await first.stop();
      }
      const lastBefore = Math.max(...enqueued);
      await new Promise((resolve) => setTimeout(resolve, 5 * SECOND));
      const second = await start();
      try {
        await waitFor(() => enqueued.filter((tick) => tick > lastBefore).length >= 3, { what: 'ticks after the restart', timeoutMs: 60_000, intervalMs: 50 });
        const [status] = await listRecurringSchedules({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, groupId: group });
        expect(status).to.include({ name: 'every-second', cron: '* * * * * *', timezone: 'UTC', jobClass: 'Tick', topic, missed });
        expect(status!.nextRun!.getTime() - status!.lastTick.getTime()).to.equal(SECOND);
      } finally {
        await second.stop();
      }
      // The second app planned its first round right after it took the ticker over: ticks older
      // than the window then were missed, the others are caught up one by one.
      const tookOverAt = owned.at(-1)!;
      const ticks = await committedTicks(topic);
      expect(duplicates(ticks)).to.deep.equal([]);
      const after = ticks.filter((tick) => tick > lastBefore).sort((a, b) => a - b);
      expect(after.slice(1).filter((tick, n) => tick - after[n]! !== SECOND), 'no gap after the first tick after the restart').to.deep.equal([]);
      expect(skipped, 'the missed ticks were reported').to.have.length(1);
      expect(skipped[0]!.first.getTime()).to.equal(lastBefore + SECOND);
      expect(skipped[0]!.last.getTime()).to.equal(after[0]! - SECOND);
      if (missed === 'skip') {
        expect(after[0], 'the first tick after the restart is inside the window: nothing enqueued for the missed ones').to.be.above(tookOverAt - WINDOW_MS);
      } else {
        expect(after[0], 'the first tick after the restart is the newest missed one').to.be.at.most(tookOverAt - WINDOW_MS + 200);
      }
    });
  }
});
