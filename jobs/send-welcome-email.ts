import { Job } from '../lib/index.ts';

/** Sends a welcome email to a new user (simulated: waits like an SMTP round trip). */
export class SendWelcomeEmail extends Job<[userId: string, email: string, signedUpAt: Date]> {
  static override options = {
    topic: 'demo.mail',
    partitioner: (job: Job<any[]>) => String(job.arguments[0]),
  };

  async perform(userId: string, email: string, signedUpAt: Date): Promise<void> {
    if (!(signedUpAt instanceof Date)) throw new TypeError('signedUpAt must arrive as a Date');
    await delay(20 + (userId.length % 5) * 5, this.signal);
    deliveries.push({ userId, email });
  }
}

/** What the simulated mail server received (for the demo's progress output). */
export const deliveries: { userId: string; email: string }[] = [];

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
