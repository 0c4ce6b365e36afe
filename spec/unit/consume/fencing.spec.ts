import { expect } from 'chai';
import { startPosition, type StartPorts } from '../../../lib/consume/fencing.ts';
import { WorkerEmitter } from '../../../lib/consume/worker-events.ts';
import type { OffsetAndMetadata } from '../../../lib/kafka/records.ts';

/**
 * Start ports over an in-memory group coordinator: `committed` is what a read returns now, and
 * `fence` moves it (the previous owner's open transaction commits its offsets when fenced).
 */
function fakeStart(options: { fences: boolean; assigned?: OffsetAndMetadata | 'failed'; failures?: ('fence' | 'fetch')[] }) {
  const log: string[] = [];
  const failures = [...(options.failures ?? [])];
  let committed: OffsetAndMetadata | undefined = { offset: 10, metadata: 'before' };
  let stopped = false;
  const events = new WorkerEmitter();
  const errors: string[] = [];
  events.on('error', ({ error, kind }) => errors.push(`${kind}: ${error.message}`));
  const ports: StartPorts = {
    topic: 't',
    partition: 2,
    fences: options.fences,
    assigned: Promise.resolve(options.assigned === 'failed' ? undefined : { committed: options.assigned }),
    fence: async () => {
      log.push('fence');
      if (failures[0] === 'fence') throw new Error(`fence failed (${failures.shift()})`);
      committed = { offset: 25, metadata: 'after' };
    },
    fetchCommitted: async () => {
      log.push('fetch');
      if (failures[0] === 'fetch') throw new Error(`fetch failed (${failures.shift()})`);
      return committed;
    },
    stopped: () => stopped,
    wait: async (attempt) => void log.push(`wait:${attempt}`),
    events,
  };
  return { ports, log, errors, stop: () => (stopped = true) };
}

describe('fencing and the start position (unit)', () => {
  it('a route that does not fence starts from the read made at assignment, reading nothing more', async () => {
    const { ports, log } = fakeStart({ fences: false, assigned: { offset: 3, metadata: 'm' } });
    expect(await startPosition(ports)).to.deep.equal({ committed: { offset: 3, metadata: 'm' }, fenced: false });
    expect(log).to.deep.equal([]);
  });

  it('a route that does not fence reads again when the assignment read failed, reporting each failed read', async () => {
    const { ports, log, errors } = fakeStart({ fences: false, assigned: 'failed', failures: ['fetch', 'fetch'] });
    expect(await startPosition(ports)).to.deep.equal({ committed: { offset: 10, metadata: 'before' }, fenced: false });
    expect(log).to.deep.equal(['fetch', 'wait:1', 'fetch', 'wait:2', 'fetch']);
    expect(errors).to.deep.equal(['offset-fetch: fetch failed (fetch)', 'offset-fetch: fetch failed (fetch)']);
  });

  it('a fencing route fences first and starts from the offset read after the fence, never the assignment read', async () => {
    const { ports, log } = fakeStart({ fences: true, assigned: { offset: 10, metadata: 'before' } });
    expect(await startPosition(ports)).to.deep.equal({ committed: { offset: 25, metadata: 'after' }, fenced: true });
    expect(log).to.deep.equal(['fence', 'fetch']);
  });

  it('a fence or read that fails is reported as transaction-prepare and both are tried again', async () => {
    const { ports, log, errors } = fakeStart({ fences: true, failures: ['fence', 'fetch'] });
    expect(await startPosition(ports)).to.deep.equal({ committed: { offset: 25, metadata: 'after' }, fenced: true });
    expect(log).to.deep.equal(['fence', 'wait:1', 'fence', 'fetch', 'wait:2', 'fence', 'fetch']);
    expect(errors.map((line) => line.split(':')[0])).to.deep.equal(['transaction-prepare', 'transaction-prepare']);
  });

  it('gives up when the partition stops while it retries', async () => {
    const start = fakeStart({ fences: true, failures: ['fence', 'fence', 'fence'] });
    start.ports.wait = async () => void start.stop();
    expect(await startPosition(start.ports)).to.equal(undefined);
    expect(start.log).to.deep.equal(['fence']);
  });
});
