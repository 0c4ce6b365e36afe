import { expect } from 'chai';
import { Job } from '../../lib/job/job.ts';
import { stopApps, testApp } from '../support/app.ts';
import { createTopic, readAll, testBrokers, unique, waitFor } from '../support/kafka.ts';
import { runSourceCli } from '../support/cli.ts';
import { jobMessage, produceRaw } from '../support/produce.ts';


describe('partita dlq (broker)', function () {
  afterEach(stopApps);

  it('lists dead letters with source, error and age, and replays a chosen one to its source topic', async () => {
    let broken = true;
    const ran: string[] = [];
    class Invoice extends Job<[id: number]> {
      perform(id: number) {
        if (broken) throw new RangeError(`invoice ${id} has no customer`);
        ran.push(this.jobId);
      }
    }
    const topic = await createTopic(unique('cli'), 1);
    const dlq = unique('cli-dlq');
    const ids = [unique('a'), unique('b')];
    await produceRaw(topic, ids.map((id, n) => jobMessage(topic, 'Invoice', id, `inv-${n}`, [n])));
    const app = testApp({ jobs: [Invoice], backoff: { timeout: 20, maxTimeout: 50 } }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 0 })));
    let deadLettered = 0;
    app.on('message.dead-lettered', () => (deadLettered += 1));
    await app.run();
    await waitFor(() => deadLettered === 2, { what: 'two dead letters' });

    const brokers = testBrokers().join(',');
    const list = await runSourceCli(['dlq', 'list', dlq, '--brokers', brokers]);
    expect(list.code, list.stderr).to.equal(0);
    expect(list.stdout).to.contain(`2 dead letters in ${dlq}`);
    expect(list.stdout).to.contain(`from ${topic}/0@0`).and.contain(`from ${topic}/0@1`);
    expect(list.stdout).to.match(/RangeError: invoice 1 has no customer/);
    expect(list.stdout).to.match(/age \d+s/);
    expect(list.stdout).to.contain(`Invoice ${ids[0]}`).and.contain(`Invoice ${ids[1]}`);

    broken = false;
    const dlqPartition = (await readAll(dlq, 2)).find((m) => m.headers['source-offset'] === '1')!;
    const replay = await runSourceCli(['dlq', 'replay', dlq, '--offset', `${dlqPartition.partition}@${dlqPartition.offset}`, '--brokers', brokers]);
    expect(replay.code, replay.stderr).to.equal(0);
    expect(replay.stdout).to.contain(`-> ${topic}/0@2`);
    await waitFor(() => ran.length === 1, { what: 'the replayed job to run' });
    expect(ran).to.deep.equal([ids[1]]);
    const [, , replayed] = await readAll(topic, 3);
    expect(replayed!.headers['replayed-from']).to.equal(`${dlq}/${dlqPartition.partition}@${dlqPartition.offset}`);
    expect(replayed!.headers).to.not.have.property('error-class');

    const again = await runSourceCli(['dlq', 'replay', dlq, '--offset', `${dlqPartition.partition}@${dlqPartition.offset}`, '--brokers', brokers]);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.contain(`skipped ${dlqPartition.partition}@${dlqPartition.offset} (already-replayed)`).and.contain('0 dead letters replayed');
    const show = await runSourceCli(['dlq', 'show', dlq, `${dlqPartition.partition}@${dlqPartition.offset}`, '--json', '--brokers', brokers]);
    expect(show.code, show.stderr).to.equal(0);
    const shown = JSON.parse(show.stdout) as { jobClass: string; jobId: string; arguments: unknown[]; replayed: { to: { topic: string; offset: number } } };
    expect(shown).to.deep.include({ jobClass: 'Invoice', jobId: ids[1], arguments: [1] });
    expect(shown.replayed.to).to.deep.include({ topic, offset: 2 });
    const missing = await runSourceCli(['dlq', 'replay', dlq, '--offset', '0@99', '--brokers', brokers]);
    expect(missing.code).to.equal(1);
    expect(missing.stdout).to.contain('0@99');

    const bad = await runSourceCli(['dlq', 'replay', dlq, '--brokers', brokers]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('--all or --offset');
  });
});
