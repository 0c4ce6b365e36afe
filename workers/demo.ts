/**
 * `npm start`: starts a local broker when none is configured, runs the demo worker in this
 * process, enqueues a mix of demo jobs, and prints progress until every job has run.
 */
import { closeDispatcher, configure, Job, startLocalBroker } from '../lib/index.ts';
import { ChargeInvoice, ledgers } from '../jobs/charge-invoice.ts';
import { ResizeImage } from '../jobs/resize-image.ts';
import { SendWelcomeEmail } from '../jobs/send-welcome-email.ts';

const broker = await startLocalBroker();
process.env.KAFKA_BROKERS = broker.brokers.join(',');
const { app } = await import('./demo-worker.ts');

let performed = 0;
let failed = 0;
app.on('job.performed', () => (performed += 1));
// Failures are logged by the app's logger (stderr); here they are only counted.
app.on('job.failed', () => (failed += 1));

await configure({ kafka: { brokers: broker.brokers, clientId: 'partita-demo-enqueuer' } });
await app.run();
console.log(`worker running in group ${app.groupId} on ${broker.brokers.join(',')}`);

const users = 300;
const images = 200;
const accounts = 20;
const invoicesPerAccount = 10;
const started = Date.now();
await Promise.all(
  Array.from({ length: users }, (_, i) => SendWelcomeEmail.performLater(`user-${i}`, `user${i}@example.com`, new Date())),
);
await Job.performAllLater(Array.from({ length: images }, (_, i) => new ResizeImage(`img-${i}`, new Set([64, 128, 512]))));
for (let invoice = 1; invoice <= invoicesPerAccount; invoice += 1) {
  await Promise.all(Array.from({ length: accounts }, (_, a) => ChargeInvoice.performLater(`acct-${a}`, invoice, BigInt(invoice * 1999))));
}
const total = users + images + accounts * invoicesPerAccount;
console.log(`enqueued ${total} jobs in ${Date.now() - started} ms`);

const deadline = Date.now() + 120_000;
let lastReport = -1;
while (performed < total && Date.now() < deadline) {
  if (performed !== lastReport) {
    console.log(`progress: ${performed}/${total} jobs performed`);
    lastReport = performed;
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}
const inOrder = [...ledgers.values()].every((ledger) => ledger.every((id, i) => i === 0 || ledger[i - 1]! < id));
console.log(`done: ${performed}/${total} performed, ${failed} failed, per-account order ${inOrder ? 'kept' : 'BROKEN'}, ${Date.now() - started} ms`);

await app.stop();
await closeDispatcher();
await broker.stop();
process.exit(performed === total && inOrder ? 0 : 1);
