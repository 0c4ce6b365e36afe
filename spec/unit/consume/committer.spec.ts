import { expect } from 'chai';
import { Committer, type CommitPosition, type CommitSource } from '../../../lib/consume/committer.ts';
import { decodeCommitMetadata } from '../../../lib/consume/done-map.ts';
import { WorkerEmitter } from '../../../lib/consume/worker-events.ts';
import type { OffsetCommit } from '../../../lib/kafka/records.ts';

function recordingCommitter() {
  const sent: OffsetCommit[][] = [];
  const events = new WorkerEmitter();
  const committed: { offset: number; metadata: string | null; finished: number }[] = [];
  events.on('batch.committed', (e) => committed.push(...e.offsets));
  const committer = new Committer({ commit: async (offsets) => void sent.push(offsets), owns: () => true, events }, 0);
  return { committer, sent, committed };
}

const position = (offset: number, metadata: string | null, finished: number[]): CommitSource => fixed({ offset, metadata, finishedCount: finished.length, finished: () => finished });
const fixed = (at: CommitPosition): CommitSource => ({ position: () => at });

describe('committer: the done-map in the commit (unit)', () => {
  it('commits again when only the finished offsets above the offset grew, not when nothing changed (R2)', async () => {
    const { committer, sent, committed } = recordingCommitter();
    committer.request('t', 0, position(10, 'mine', [12]), true);
    await committer.flush(Date.now() + 5000);
    committer.request('t', 0, position(10, 'mine', [12]), true);
    await committer.flush(Date.now() + 5000);
    expect(sent).to.have.length(1);
    committer.request('t', 0, position(10, 'mine', [12, 13]), true);
    await committer.flush(Date.now() + 5000);
    expect(sent).to.have.length(2);
    expect(decodeCommitMetadata(sent[1]![0]!.metadata, 10)).to.deep.equal({ metadata: 'mine', finished: [12, 13] });
    expect(committed.at(-1), 'events carry the user metadata and the count').to.deep.equal({ topic: 't', partition: 0, offset: 10, metadata: 'mine', finished: 2 });
  });

  it('reads the finished offsets when the commit is sent, so a coalesced commit carries the latest', async () => {
    const { committer, sent } = recordingCommitter();
    const finished = [21];
    committer.request('t', 1, fixed({ offset: 20, metadata: null, finishedCount: 1, finished: () => finished }), false);
    finished.push(22, 25);
    await committer.flush(Date.now() + 5000);
    expect(decodeCommitMetadata(sent[0]![0]!.metadata, 20).finished).to.deep.equal([21, 22, 25]);
  });

  it('writes plain user metadata when nothing above the offset is finished', async () => {
    const { committer, sent } = recordingCommitter();
    committer.request('t', 0, position(5, 'checkpoint', []), true);
    await committer.flush(Date.now() + 5000);
    expect(sent[0]![0]!.metadata).to.equal('checkpoint');
  });

  it('reads the position once, when the commit is sent: requests meanwhile coalesce and the latest position goes out', async () => {
    const { committer, sent } = recordingCommitter();
    let offset = 1;
    let reads = 0;
    const source: CommitSource = {
      position: () => {
        reads += 1;
        return { offset, metadata: null, finishedCount: 0, finished: () => [] };
      },
    };
    for (; offset <= 50; offset += 1) committer.request('t', 3, source, false);
    offset = 60;
    await committer.flush(Date.now() + 5000);
    expect(reads).to.equal(1);
    expect(sent.map((offsets) => offsets.map((o) => o.offset))).to.deep.equal([[60]]);
  });

  it('sends nothing for a partition whose source has no position (nothing materialized, or revoked)', async () => {
    const { committer, sent } = recordingCommitter();
    committer.request('t', 0, { position: () => undefined }, true);
    await committer.flush(Date.now() + 5000);
    expect(sent).to.deep.equal([]);
  });
});
