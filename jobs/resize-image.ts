import { Job } from '../lib/index.ts';

/** Produces thumbnails of an uploaded image (simulated CPU work), one size after the other. */
export class ResizeImage extends Job<[imageId: string, sizes: Set<number>]> {
  static override options = {
    topic: 'demo.media',
    partitioner: (job: Job<any[]>) => String(job.arguments[0]),
  };

  async perform(imageId: string, sizes: Set<number>): Promise<void> {
    for (const size of sizes) {
      if (this.revoked()) return;
      thumbnails.set(`${imageId}@${size}`, checksum(`${imageId}:${size}`));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

export const thumbnails = new Map<string, number>();

function checksum(text: string): number {
  let sum = 0;
  for (let round = 0; round < 2000; round += 1) for (let i = 0; i < text.length; i += 1) sum = (sum * 31 + text.charCodeAt(i) + round) >>> 0;
  return sum;
}
