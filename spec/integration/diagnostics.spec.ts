import { expect } from 'chai';
import http from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createApp, type App } from '../../lib/app.ts';
import type { WorkerEvents } from '../../lib/consume/worker-events.ts';
import { closeDispatcher, configure } from '../../lib/dispatch/default-dispatcher.ts';
import { BrokerUnavailableError, MissingTopicError, NotKafkaBrokerError } from '../../lib/errors.ts';
import { Job } from '../../lib/job/job.ts';
import { Consumer } from '../../lib/consume/consumer.ts';
import { stopApps, testApp } from '../support/app.ts';
import { createTopic, testBrokers, unique, waitFor, withAdmin } from '../support/kafka.ts';
import { freePort } from '../support/ports.ts';

/** Connections to the specs' servers, destroyed after each spec. */
const openSockets = new Set<Socket>();

/** Listens on a free 127.0.0.1 port. */
async function listen(server: Server | http.Server): Promise<string> {
  server.on('connection', (socket: Socket) => {
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Runs `body`, expecting it to reject; returns the rejection and how long it took. */
async function rejection(body: () => Promise<unknown>): Promise<{ error: Error; elapsedMs: number }> {
  const started = Date.now();
  try {
    await body();
  } catch (error) {
    return { error: error as Error, elapsedMs: Date.now() - started };
  }
  return expect.fail('expected a rejection');
}

function appAt(address: string): App {
  return createApp({ kafka: { brokers: [address], logLevel: 'nothing' }, groupId: unique('diag') }).routes((r) => r.activeJobTopic(unique('diag')));
}

class Noop extends Consumer {
  async consume(): Promise<void> {}
}

describe('errors that say what to do (E5)', function () {
  const servers: (Server | http.Server)[] = [];

  afterEach(async () => {
    await stopApps();
    await closeDispatcher();
    for (const socket of openSockets) socket.destroy();
    for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('no broker: app.run() fails soon with a BrokerUnavailableError naming the broker and what to do', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const { error, elapsedMs } = await rejection(() => appAt(address).run());
    expect(error).to.be.instanceOf(BrokerUnavailableError).and.not.be.instanceOf(NotKafkaBrokerError);
    expect((error as BrokerUnavailableError).brokers).to.deep.equal([address]);
    expect(error.message).to.include(address).and.include('Is Kafka running?').and.include('KAFKA_BROKERS').and.include('npx partita kafka start');
    // The default bound is 10 s (kafka.connectTimeoutMs); loosely checked on a loaded machine.
    expect(elapsedMs, 'time to the error').to.be.lessThan(20_000);
  });

  it('no broker: performLater with produceSync rejects with a BrokerUnavailableError, not a kafkajs error', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    await configure({ kafka: { brokers: [address], logLevel: 'nothing' }, handleSignals: false });
    class SyncPing extends Job<[n: number]> {
      static override options = { topic: unique('diag-sync'), dispatchMethod: 'produceSync' as const };
      perform(): void {}
    }
    const { error, elapsedMs } = await rejection(() => SyncPing.performLater(1));
    expect(error).to.be.instanceOf(BrokerUnavailableError);
    expect(error.message).to.include(address).and.include('npx partita kafka start');
    expect(elapsedMs, 'time to the error').to.be.lessThan(20_000);
  });

  it('an HTTP server: one error saying the address answered but is not a Kafka broker', async () => {
    const server = http.createServer((_request, response) => response.end('hello'));
    servers.push(server);
    const address = await listen(server);
    const { error } = await rejection(() => appAt(address).run());
    expect(error).to.be.instanceOf(NotKafkaBrokerError);
    expect(error.message).to.include(`${address} answered but is not a Kafka broker`);
  });

  it('a TCP server that answers garbage and closes: not a Kafka broker, for produceSync too', async () => {
    const server = createServer((socket) => socket.end('garbage\n'));
    servers.push(server);
    const address = await listen(server);
    await configure({ kafka: { brokers: [address], logLevel: 'nothing' }, handleSignals: false });
    class SyncPing extends Job<[n: number]> {
      static override options = { topic: unique('diag-sync'), dispatchMethod: 'produceSync' as const };
      perform(): void {}
    }
    const { error } = await rejection(() => SyncPing.performLater(1));
    expect(error).to.be.instanceOf(NotKafkaBrokerError);
    expect(error.message).to.include(`${address} answered but is not a Kafka broker`);
  });

  it('a TCP server that accepts and never answers: not a Kafka broker', async () => {
    const server = createServer(() => {});
    servers.push(server);
    const address = await listen(server);
    const { error } = await rejection(() => appAt(address).run());
    expect(error).to.be.instanceOf(NotKafkaBrokerError);
    expect(error.message).to.include(`${address} answered but is not a Kafka broker: it accepted the connection but did not answer a Kafka request`);
  });

  it('kafka.connectTimeoutMs bounds the first contact and is named in the error', async () => {
    const server = createServer(() => {});
    servers.push(server);
    const address = await listen(server);
    const app = createApp({ kafka: { brokers: [address], logLevel: 'nothing', connectTimeoutMs: 1000 }, groupId: unique('diag') }).routes((r) => r.activeJobTopic(unique('diag')));
    const { error } = await rejection(() => app.run());
    expect(error).to.be.instanceOf(BrokerUnavailableError);
    expect(error.message).to.include(`No Kafka broker answered at ${address} within 1000 ms (kafka.connectTimeoutMs)`).and.include('npx partita kafka start');
  });

  it('a route to a missing topic without config({ partitions }): MissingTopicError naming it, nothing created', async () => {
    const jobsTopic = unique('diag-missing-jobs');
    const { error } = await rejection(() => testApp().routes((r) => r.activeJobTopic(jobsTopic)).run());
    expect(error).to.be.instanceOf(MissingTopicError);
    expect((error as MissingTopicError).topics).to.deep.equal([jobsTopic]);
    expect(error.message).to.include(`"${jobsTopic}"`).and.include('config({ partitions');

    const plainTopic = unique('diag-missing-plain');
    const existing = await createTopic(unique('diag-present'), 1);
    const plain = await rejection(() => testApp().routes((r) => {
      r.topic(existing, Noop);
      r.topic(plainTopic, Noop);
    }).run());
    expect(plain.error).to.be.instanceOf(MissingTopicError);
    expect((plain.error as MissingTopicError).topics).to.deep.equal([plainTopic]);
    const topics = await withAdmin((admin) => admin.listTopics());
    expect(topics, 'the missing topics were not created behind the user').to.not.include.members([jobsTopic, plainTopic]);
  });

  it('an existing topic with fewer partitions than config() asks: a warning event with both numbers', async () => {
    const topic = await createTopic(unique('diag-fewer'), 1);
    const warnings: WorkerEvents['warning'][] = [];
    const app = testApp().routes((r) => r.topic(topic, Noop, (t) => t.config({ partitions: 4 })));
    app.on('warning', (warning) => warnings.push(warning));
    await app.run();
    expect(warnings, 'warned before run() resolved').to.have.length(1);
    expect(warnings[0]).to.include({ kind: 'topic.partitions-mismatch', topic });
    expect(warnings[0]!.message).to.include(`"${topic}" has 1 partition`).and.include('partitions: 4');
  });

  it('a Buffer argument arrives in perform as an equal Buffer (E6, broker part)', async () => {
    const topic = await createTopic(unique('diag-buffer'), 1);
    const received: unknown[] = [];
    class Upload extends Job<[name: string, bytes: Buffer]> {
      static override options = { topic, dispatchMethod: 'produceSync' as const };
      perform(_name: string, bytes: Buffer): void {
        received.push(bytes);
      }
    }
    await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await Upload.performLater('file.bin', bytes);
    await testApp({ jobs: [Upload] }).routes((r) => r.activeJobTopic(topic)).run();
    await waitFor(() => received.length === 1, { what: 'the Upload job to run' });
    expect(Buffer.isBuffer(received[0]), 'a Buffer').to.equal(true);
    expect((received[0] as Buffer).equals(bytes)).to.equal(true);
  });
});
