import { createApp } from '../lib/index.ts';
import { ChargeInvoice } from '../jobs/charge-invoice.ts';
import { ResizeImage } from '../jobs/resize-image.ts';
import { SendWelcomeEmail } from '../jobs/send-welcome-email.ts';

/** The demo worker: three job topics, each run in 8 lanes keyed by the `job-key` header. */
export const app = createApp({
  clientId: 'partita-demo',
  kafka: { brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',') },
  jobs: [SendWelcomeEmail, ResizeImage, ChargeInvoice],
}).routes((r) => {
  const lanes = { partitioner: (m: { headers: Record<string, string | undefined> }) => m.headers['job-key'], maxPartitions: 8 };
  r.activeJobTopic('demo.mail', (t) => t.config({ partitions: 3 }).virtualPartitions(lanes));
  r.activeJobTopic('demo.media', (t) => t.config({ partitions: 3 }).virtualPartitions(lanes));
  r.activeJobTopic('demo.billing', (t) => t.config({ partitions: 3 }).virtualPartitions(lanes));
});

export default app;
