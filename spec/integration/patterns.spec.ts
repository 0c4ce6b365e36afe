import { expect } from 'chai';
import { Consumer } from '../../lib/consume/consumer.ts';
import type { Message } from '../../lib/kafka/inbound-message.ts';
import { RouteValidationError } from '../../lib/errors.ts';
import { RoutesBuilder } from '../../lib/routing/route.ts';
import { stopApps, testApp } from '../support/app.ts';
import { createTopic, unique, waitFor } from '../support/kafka.ts';
import { produceRaw } from '../support/produce.ts';

describe('routing patterns (broker)', function () {
  this.timeout(120_000);
  afterEach(stopApps);

  it('P1: a topic created after the worker started is consumed within the discovery interval, while others are under load; every message once', async () => {
    const prefix = unique('p1');
    const seen = new Map<string, number>();
    class Count extends Consumer {
      consume(messages: Message[]) {
        for (const m of messages) seen.set(`${m.topic}/${m.value}`, (seen.get(`${m.topic}/${m.value}`) ?? 0) + 1);
      }
    }
    const existing = await createTopic(`${prefix}.orders`, 2);
    await produceRaw(existing, Array.from({ length: 2000 }, (_, n) => ({ key: `k${n % 10}`, value: `o${n}` })));
    const app = testApp({ discoveryIntervalMs: 1000 }).routes((r) => r.pattern(new RegExp(`^${prefix.replace(/[-]/g, '\\-')}\\.`), Count));
    const discovered: string[] = [];
    app.on('topic.discovered', (e) => discovered.push(e.topic));
    await app.run();
    expect(discovered).to.deep.equal([existing]);
    // Load on the existing topic while the new one appears.
    const load = produceRaw(existing, Array.from({ length: 3000 }, (_, n) => ({ key: `k${n % 10}`, value: `o${2000 + n}` })), 100);
    const created = await createTopic(`${prefix}.refunds`, 1);
    await produceRaw(created, Array.from({ length: 500 }, (_, n) => ({ key: 'r', value: `r${n}` })));
    await load;
    await waitFor(() => discovered.includes(created), { what: 'the new topic to be discovered', timeoutMs: 30_000 });
    await waitFor(() => seen.size === 5500, { what: `all 5500 messages (have ${seen.size})`, timeoutMs: 60_000 });
    expect([...seen.values()].filter((count) => count > 1), 'messages consumed twice').to.deep.equal([]);
  });

  it('P2: a pattern matching a dead-letter topic of the app is refused at start, naming both', async () => {
    const app = testApp().routes((r) => {
      r.topic('p2-orders', class extends Consumer { consume() {} }, (t) => t.deadLetterQueue({ topic: 'p2-events.dead' }));
      r.pattern('events', /^p2-events\./, class extends Consumer { consume() {} });
    });
    let error: unknown;
    try {
      await app.run();
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(RouteValidationError);
    expect((error as Error).message).to.contain('"events"').and.contain('p2-events.dead').and.contain('allowDeadLetterTopics');
  });

  it('P2: allowed knowingly, the loop is bounded by the pattern’s own dead-letter queue', async () => {
    const prefix = unique('loop');
    const attempts = new Map<string, number>();
    class Failing extends Consumer {
      consume(messages: Message[]) {
        for (const m of messages) attempts.set(m.topic, (attempts.get(m.topic) ?? 0) + 1);
        throw new Error(`cannot handle ${messages[0]!.topic}`);
      }
    }
    const source = await createTopic(`${prefix}-source`, 1);
    const sourceDlq = `${prefix}.source-dlq`;
    const ownDlq = `${prefix}.own-dlq`;
    await createTopic(`${prefix}.in`, 1);
    await produceRaw(source, [{ key: 'k', value: 'poison' }]);
    const app = testApp({ discoveryIntervalMs: 500, backoff: { timeout: 50, maxTimeout: 100 } }).routes((r) => {
      r.topic(source, Failing, (t) => t.deadLetterQueue({ topic: sourceDlq, maxRetries: 0 }));
      r.pattern(new RegExp(`^${prefix}\\.`), Failing, (t) => t.allowDeadLetterTopics().deadLetterQueue({ topic: ownDlq, maxRetries: 1 }));
    });
    const deadLettered: string[] = [];
    const discovered: string[] = [];
    app.on('message.dead-lettered', (e) => deadLettered.push(`${e.topic}->${e.deadLetterTopic}`));
    app.on('topic.discovered', (e) => discovered.push(e.topic));
    await app.run();
    await waitFor(() => deadLettered.includes(`${sourceDlq}->${ownDlq}`), { what: 'the loop to end in the own DLQ', timeoutMs: 60_000 });
    expect(deadLettered).to.deep.equal([`${source}->${sourceDlq}`, `${sourceDlq}->${ownDlq}`]);
    expect(discovered, 'the own DLQ is never picked up').to.not.include(ownDlq);
    expect(attempts.get(sourceDlq)).to.equal(2);
    expect(attempts.has(ownDlq)).to.equal(false);
  });

  it('P3: the same pattern twice in one group is refused', () => {
    const routes = new RoutesBuilder();
    routes.pattern('a', /^p3\./, class extends Consumer { consume() {} });
    expect(() => routes.pattern('b', /^p3\./g, class extends Consumer { consume() {} })).to.throw(RouteValidationError, /declared twice.*"a".*"b"/);
  });
});
