import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { closeDispatcher, configure } from '../../lib/dispatch/default-dispatcher.ts';
import { Job } from '../../lib/job/job.ts';
import { delayTopics } from '../../lib/schedule/tiers.ts';
import { startWebServer, WebAuthRequiredError, type WebServer } from '../../lib/web/index.ts';
import { stopApps, testApp } from '../support/app.ts';
import { launchBrowser, watchedPage } from '../support/browser.ts';
import { createTopic, testBrokers, unique, waitFor, withAdmin } from '../support/kafka.ts';
import { produceRaw } from '../support/produce.ts';

/** Text of the element matching `selector`, trimmed ('' when there is none). */
async function textOf(page: import('playwright-core').Page, selector: string): Promise<string> {
  const element = await page.$(selector);
  return element === null ? '' : ((await element.textContent()) ?? '').trim();
}

describe('Partita Web in a real browser (broker, chromium)', function () {
  this.timeout(180_000);
  let browser: Browser;
  let web: WebServer;
  const topic = unique('web-jobs');
  const idleTopic = unique('web-idle');
  const idleGroup = unique('web-idle-group');
  const performed: string[] = [];

  class Greet extends Job<[name: string]> {
    static override options = { topic };
    perform(name: string) {
      performed.push(name);
    }
  }

  before(async () => {
    browser = await launchBrowser();
    await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
    await createTopic(topic, 2);
    await createTopic(idleTopic, 1);
    const app = testApp({ jobs: [Greet] }).routes((r) => r.activeJobTopic(topic));
    await app.run();
    // Lag the spec controls: 10 records on a topic a group committed 3 of.
    await produceRaw(idleTopic, Array.from({ length: 10 }, (_, n) => ({ key: `k${n}`, value: `v${n}` })));
    await withAdmin((admin) => admin.setOffsets({ groupId: idleGroup, topic: idleTopic, partitions: [{ partition: 0, offset: '3' }] }));
    await Promise.all(['ada', 'grace', 'linus'].map((name) => Greet.performLater(name)));
    await Promise.all(['later-1', 'later-2'].map((name) => Greet.set({ wait: 600_000 }).performLater(name)));
    await closeDispatcher();
    await waitFor(() => performed.length === 3, { what: `3 jobs performed (have ${performed.length})` });
    web = await startWebServer({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, port: 0 });
  });

  after(async () => {
    await web?.close();
    await browser?.close();
    await stopApps();
  });

  it('Consumer groups: lag per topic and partition against the end offsets', async () => {
    const { page } = await watchedPage(browser);
    await page.goto(`${web.url}groups`);
    expect(await textOf(page, `[data-partition-lag="${idleTopic}/0"]`), 'lag of the idle group').to.equal('7');
    const section = await page.$(`[data-group="${idleGroup}"]`);
    expect(section, `a section for ${idleGroup}`).to.not.equal(null);
    expect(await textOf(page, `[data-group="${idleGroup}"] [data-lag]`)).to.equal('lag 7');
    await page.close();
  });

  it('Topics: partitions and records kept', async () => {
    const { page } = await watchedPage(browser);
    await page.goto(`${web.url}topics`);
    expect(await textOf(page, `[data-records="${idleTopic}"]`)).to.equal('10');
    expect(await textOf(page, `[data-records="${topic}"]`)).to.equal('3');
    await page.close();
  });

  it('Scheduled: jobs waiting per delay tier', async () => {
    const tier = delayTopics(topic).find((t) => t.endsWith('.delay.10m'))!;
    const { page } = await watchedPage(browser);
    await page.goto(`${web.url}scheduled`);
    expect(await textOf(page, `[data-waiting="${tier}"]`), `jobs waiting in ${tier}`).to.equal('2');
    await page.close();
  });

  describe('security', () => {
    it('refuses to listen on a non-loopback address without auth', async () => {
      const error = await startWebServer({ kafka: { brokers: testBrokers() }, host: '0.0.0.0', port: 0 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(WebAuthRequiredError);
      expect((error as Error).message).to.contain('0.0.0.0').and.contain('auth');
    });

    it('sends a strict Content-Security-Policy: scripts only from its own files', async () => {
      const response = await fetch(`${web.url}topics`);
      const policy = response.headers.get('content-security-policy') ?? '';
      expect(policy).to.contain("script-src 'self'").and.contain("default-src 'none'").and.contain("frame-ancestors 'none'");
      expect(policy).to.not.contain('unsafe-inline');
      const page = await response.text();
      expect(page).to.not.match(/<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script element');
    });

    it('with a token: 401 without it, a session cookie after ?token=, the token gone from the address', async () => {
      const token = 'a-token-of-some-length-0123';
      const guarded = await startWebServer({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, port: 0, auth: { token } });
      try {
        expect((await fetch(`${guarded.url}topics`)).status).to.equal(401);
        expect((await fetch(`${guarded.url}topics?token=wrong-token-of-some-length`)).status).to.equal(401);
        expect((await fetch(`${guarded.url}topics`, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(200);
        const { page } = await watchedPage(browser);
        const response = await page.goto(`${guarded.url}topics?token=${token}`);
        expect(response?.status()).to.equal(200);
        expect(page.url()).to.equal(`${guarded.url}topics`);
        expect(await textOf(page, `[data-records="${idleTopic}"]`)).to.equal('10');
        await page.close();
      } finally {
        await guarded.close();
      }
    });
  });
});
