import { expect } from 'chai';
import fc from 'fast-check';
import { decodeCommitMetadata, encodeCommitMetadata, MAX_OFFSET_METADATA_BYTES, userMetadataBytes } from '../../../lib/consume/done-map.ts';

/** Ascending distinct offsets above `offset`, from gaps and run lengths (how lanes leave them). */
const finishedAbove = (offset: number) =>
  fc.array(fc.tuple(fc.nat(40), fc.integer({ min: 1, max: 40 })), { maxLength: 60 }).map((runs) => {
    const finished: number[] = [];
    let next = offset + 1;
    for (const [gap, length] of runs) {
      const start = next + gap;
      for (let done = start; done < start + length; done += 1) finished.push(done);
      next = start + length + 1;
    }
    return finished;
  });

const bytes = (text: string | null) => (text === null ? 0 : Buffer.byteLength(text));

describe('done-map: finished offsets in the commit metadata (unit)', () => {
  it('round-trips the finished offsets and the user metadata (R2)', () => {
    const commit = fc.nat(2 ** 40).chain((offset) =>
      fc.record({ offset: fc.constant(offset), metadata: fc.option(fc.string({ unit: 'grapheme', maxLength: 200 })), finished: finishedAbove(offset) }),
    );
    fc.assert(
      fc.property(commit, (content) => {
        expect(decodeCommitMetadata(encodeCommitMetadata(content).metadata, content.offset)).to.deep.equal({ metadata: content.metadata, finished: content.finished });
      }),
      { numRuns: 300 },
    );
  });

  it('stays within the broker limit; the user metadata goes in whole, the done-map keeps the longest prefix that fits', () => {
    fc.assert(
      fc.property(
        fc.nat(2 ** 32),
        fc.option(fc.string({ maxLength: 4000 })),
        fc.array(fc.integer({ min: 1, max: 30_000 }), { minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 40, max: MAX_OFFSET_METADATA_BYTES }),
        (offset, metadata, steps, limit) => {
          fc.pre(metadata === null || userMetadataBytes(metadata) <= limit);
          const finished: number[] = [];
          let at = offset;
          for (const step of steps) finished.push((at += step));
          const encoded = encodeCommitMetadata({ offset, metadata, finished }, limit);
          expect(bytes(encoded.metadata)).to.be.at.most(limit);
          const read = decodeCommitMetadata(encoded.metadata, offset);
          expect(read.metadata).to.equal(metadata);
          expect(read.finished).to.deep.equal(finished.slice(0, encoded.finished));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fallback: keeps the runs that fit, and no done-map when none fits', () => {
    // Runs of five, fifty offsets apart: too sparse for a small bitmap, too many runs for 300 bytes.
    const finished = Array.from({ length: 3000 }, (_, i) => 101 + (i % 5) + Math.floor(i / 5) * 50);
    const full = decodeCommitMetadata(encodeCommitMetadata({ offset: 100, metadata: null, finished }, 1_000_000).metadata, 100);
    expect(full.finished).to.deep.equal(finished);
    const limited = decodeCommitMetadata(encodeCommitMetadata({ offset: 100, metadata: null, finished }, 300).metadata, 100);
    expect(limited.finished.length).to.be.within(1, finished.length - 1);
    expect(limited.finished).to.deep.equal(finished.slice(0, limited.finished.length));
    const user = 'u'.repeat(MAX_OFFSET_METADATA_BYTES - 8);
    expect(encodeCommitMetadata({ offset: 100, metadata: user, finished }).metadata).to.equal(user);
  });

  it('writes no frame when there is nothing finished above the offset (what older versions wrote and read)', () => {
    expect(encodeCommitMetadata({ offset: 7, metadata: null, finished: [] }).metadata).to.equal(null);
    expect(encodeCommitMetadata({ offset: 7, metadata: 'checkpoint-3', finished: [] }).metadata).to.equal('checkpoint-3');
    expect(encodeCommitMetadata({ offset: 7, metadata: '', finished: [] }).metadata).to.equal('');
  });

  it('reads plain strings, including ones that start like a frame, as the user metadata', () => {
    for (const plain of ['checkpoint-3', '', '~pd1', '~pd1:xyz', '~pd1:aR', '~pd1:aR#|x', '{"json":true}']) {
      expect(decodeCommitMetadata(plain, 10)).to.deep.equal({ metadata: plain, finished: [] });
      expect(encodeCommitMetadata({ offset: 10, metadata: plain, finished: [] }).metadata).to.equal(plain);
    }
    expect(decodeCommitMetadata(null, 10)).to.deep.equal({ metadata: null, finished: [] });
  });

  it('frames user metadata that is itself a valid frame, so it reads back as given (and counts the frame)', () => {
    const looksFramed = encodeCommitMetadata({ offset: 5, metadata: 'mine', finished: [7, 8] }).metadata!;
    expect(looksFramed.startsWith('~pd1:')).to.equal(true);
    const raw = encodeCommitMetadata({ offset: 9, metadata: looksFramed, finished: [] }).metadata;
    expect(raw).to.not.equal(looksFramed);
    expect(decodeCommitMetadata(raw, 9)).to.deep.equal({ metadata: looksFramed, finished: [] });
    expect(userMetadataBytes(looksFramed)).to.equal(looksFramed.length + 6);
    expect(userMetadataBytes('plain')).to.equal(5);
  });

  it('ignores a done-map committed with another offset (an offset reset keeps no stale skips)', () => {
    const raw = encodeCommitMetadata({ offset: 40, metadata: 'm', finished: [42, 43, 50] }).metadata;
    expect(decodeCommitMetadata(raw, 40)).to.deep.equal({ metadata: 'm', finished: [42, 43, 50] });
    expect(decodeCommitMetadata(raw, 0)).to.deep.equal({ metadata: 'm', finished: [] });
  });

  it('is compact: 500 offsets of a batch with every eighth unfinished take under 200 bytes', () => {
    const finished = Array.from({ length: 500 }, (_, i) => 1000 + i).filter((done) => done % 8 !== 0);
    const raw = encodeCommitMetadata({ offset: 1000, metadata: null, finished }).metadata!;
    expect(raw.length).to.be.below(200);
    expect(decodeCommitMetadata(raw, 1000).finished).to.deep.equal(finished.filter((done) => done > 1000));
  });
});
