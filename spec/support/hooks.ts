import { startLocalBroker, type LocalBroker } from '../../lib/kafka/local-broker.ts';
import { setBrokers } from './kafka.ts';

let broker: LocalBroker | undefined;

/**
 * Root hooks: integration specs get a broker (KAFKA_BROKERS, one already on 127.0.0.1:9092, or
 * one started from infra/kafka and stopped afterwards). Unit-only runs (PARTITA_UNIT_ONLY=1) skip it.
 */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    if (process.env.PARTITA_UNIT_ONLY === '1') return;
    this.timeout(600_000);
    broker = await startLocalBroker();
    setBrokers(broker.brokers);
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(120_000);
    if (broker?.started) await broker.stop();
  },
};
