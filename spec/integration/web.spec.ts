import { expect } from 'chai';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../lib/app.ts';
import { closeDispatcher, configure } from '../../lib/dispatch/default-dispatcher.ts';
import { Job } from '../../lib/job/job.ts';
import { delayTopics } from '../../lib/schedule/tiers.ts';
import { createWebHandler, startWebServer, WebAuthRequiredError, type WebServer } from '../../lib/web/index.ts';
import { stopApps, testApp } from '../support/app.ts';
import { launchBrowser, watchedPage, type PageWatch } from '../support/browser.ts';
import { createTopic, testBrokers, unique, waitFor, withAdmin } from '../support/kafka.ts';
import { produceRaw } from '../support/produce.ts';

/** The argument of the job that tries to run a script in the pages. */
const XSS = '<img src=x onerror=alert(1)>';

/** Where the dashboard's screenshot goes: PARTITA_SCREENSHOT (the README's is docs/images/dashboard.png), else a temporary file. */
const SCREENSHOT = process.env.PARTITA_SCREENSHOT ?? join(tmpdir(), `partita-dashboard-${process.pid}.png`);

/** Text of the element matching `selector`, trimmed ('' when there is none). */
async function textOf(page: Page, selector: string): Promise<string> {
  const element = await page.$(selector);
  return element === null ? '' : ((await element.textContent()) ?? '').trim();
}

/** Reloads `url` until `selector`'s text is `expected` (reports arrive every 500 ms). */
async function showsText(page: Page, url: string, selector: string, expected: string, what: string): Promise<void> {
  let seen = '';
  await waitFor(
    async () => {
      const response = await page.goto(url);
      seen = (await textOf(page, selector)) || `no such element; the page answered ${response?.status()}: ${(await page.textContent('body'))?.slice(0, 300)}`;
      return seen === expected;
    },
    { timeoutMs: 30_000, intervalMs: 300, what: `${what}: ${selector} to read ${JSON.stringify(expected)}` },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last seen: ${seen}`);
  });
}

/** No script from a message ran: no dialog, no element the payload would make, no page error. */
function expectNoScriptRan(watch: PageWatch): void {
  expect(watch.dialogs, 'alert() was called').to.deep.equal([]);
  expect(watch.pageErrors, 'errors in the page').to.deep.equal([]);
}

describe('Partita Web in a real browser (broker, chromium)', function () {
  this.timeout(240_000);
  let browser: Browser;
  let web: WebServer;
  let app: App;
  const topic = unique('web-jobs');
  const slowTopic = unique('web-slow');
  const failTopic = unique('web-fail');
  const deadLetterTopic = `${failTopic}.dlq`;
  const idleTopic = unique('web-idle');
  const idleGroup = unique('web-idle-group');
  const goneGroup = unique('web-gone-group');
  const performed: string[] = [];
  const charged: string[] = [];
  let broken = true;
  let releaseSlow: () => void = () => undefined;
  const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));

  class Greet extends Job<[name: string]> {
    static override options = { topic };
    perform(name: string) {
      performed.push(name);
    }
  }
  class Resize extends Job<[image: string]> {
    static override options = { topic: slowTopic };
    async perform() {
      await slowReleased;
    }
  }
  class Charge extends Job<[order: string]> {
    static override options = { topic: failTopic, partitioner: () => 'one-customer' };
    perform(order: string) {
      if (broken) throw new RangeError(`cannot charge ${order}`);
      charged.push(order);
    }
  }

  before(async function () {
    browser = await launchBrowser();
    await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
    await Promise.all([createTopic(topic, 2), createTopic(slowTopic, 1), createTopic(failTopic, 2), createTopic(idleTopic, 1)]);
    app = testApp({ jobs: [Greet, Resize, Charge], reports: { intervalMs: 500 }, backoff: { timeout: 20, maxTimeout: 50 } }).routes((r) => {
      r.activeJobTopic(topic);
      r.activeJobTopic(slowTopic);
      r.activeJobTopic(failTopic, (t) => t.deadLetterQueue({ topic: deadLetterTopic, maxRetries: 0 }));
      r.recurring('new-year-report', '0 3 1 1 *', Greet, ['new year']);
    });
    let deadLettered = 0;
    app.on('message.dead-lettered', () => (deadLettered += 1));
    await app.run();
    // A process that reports and stops: the Processes page shows it gone.
    const gone = testApp({ groupId: goneGroup, reports: { intervalMs: 500 } }).routes((r) => r.activeJobTopic(unique('web-nothing'), (t) => t.config({ partitions: 1 })));
    await gone.run();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await gone.stop();
    // Lag the spec controls: 10 records on a topic a group committed 3 of.
    await produceRaw(idleTopic, Array.from({ length: 10 }, (_, n) => ({ key: `k${n}`, value: `v${n}` })));
    await withAdmin((admin) => admin.setOffsets({ groupId: idleGroup, topic: idleTopic, partitions: [{ partition: 0, offset: '3' }] }));
    await Promise.all(['ada', 'grace', 'linus'].map((name) => Greet.performLater(name)));
    await Promise.all(['later-1', 'later-2'].map((name) => Greet.set({ wait: 600_000 }).performLater(name)));
    await Resize.performLater('cat.png');
    for (const order of ['order-1', 'order-2', XSS]) await Charge.set({ dispatchMethod: 'produceSync' }).performLater(order);
    await closeDispatcher();
    await waitFor(() => performed.length === 3 && deadLettered === 3, { what: `3 jobs performed (have ${performed.length}), 3 dead-lettered (have ${deadLettered})` });
    web = await startWebServer({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, port: 0, groupIds: [app.groupId, idleGroup, goneGroup] });
  });

  after(async () => {
    releaseSlow();
    await web?.close();
    await browser?.close();
    await stopApps();
  });

  it('Dashboard: performed, failed, lag and running jobs, charts drawn, live updates; a screenshot', async () => {
    const { page, watch } = await watchedPage(browser);
    await showsText(page, web.url, '#figure-performed-hour', '3', 'jobs performed in the last hour');
    expect(await textOf(page, '#figure-failed-hour')).to.equal('3');
    expect(await textOf(page, '#figure-running')).to.equal('1');
    expect(await textOf(page, '#running-jobs')).to.contain('Resize').and.contain(slowTopic);
    await page.waitForSelector('body[data-charts-ready="true"]', { timeout: 30_000 });
    expect(await page.$$eval('.chart canvas', (canvases) => canvases.length)).to.equal(2);
    // The CSP forbids evaluating strings in the page (no waitForFunction): read the counter dashboard.js keeps.
    await waitFor(async () => Number((await page.getAttribute('body', 'data-live-updates')) ?? 0) >= 2, { timeoutMs: 30_000, what: 'two live updates by server-sent events' });
    // 7 records not committed by the idle group; the app's own groups have caught up.
    expect(Number(await textOf(page, '#figure-lag'))).to.equal(7);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).to.equal('PNG');
    expectNoScriptRan(watch);
    await page.close();
  });

  it('Consumer groups: lag per topic and partition against the end offsets', async () => {
    const { page } = await watchedPage(browser);
    await page.goto(`${web.url}groups`);
    expect(await textOf(page, `[data-partition-lag="${idleTopic}/0"]`), 'lag of the idle group').to.equal('7');
    expect(await textOf(page, `[data-group="${idleGroup}"] [data-lag]`)).to.equal('lag 7');
    expect(await textOf(page, `[data-group="${app.groupId}"] [data-lag]`)).to.equal('lag 0');
    await page.close();
  });

  it('Processes: the live worker with its running job; the one that stopped is gone', async () => {
    const { page } = await watchedPage(browser);
    await showsText(page, `${web.url}processes`, `[data-process="${app.reportsProcessId}"]`, 'live', 'the running app');
    expect(await textOf(page, `[data-running="${app.reportsProcessId}"]`)).to.equal('1');
    expect(await page.$$eval('[data-process]', (cells) => cells.map((cell) => cell.textContent))).to.include('gone');
    await page.close();
  });

  it('Errors: failures and dead letters with stacks, filtered by job class and topic; HTML in a message is text, no script runs', async () => {
    const { page, watch } = await watchedPage(browser);
    await waitFor(
      async () => {
        await page.goto(`${web.url}errors?jobClass=Charge`);
        return (await page.$$('#errors .error')).length === 6;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'six Charge error reports on the Errors page (three failures, three dead letters)' },
    );
    const kinds = await page.$$eval('#errors .error-kind', (spans) => spans.map((span) => span.textContent));
    expect(kinds.filter((kind) => kind === 'job.failed')).to.have.length(3);
    expect(kinds.filter((kind) => kind === 'message.dead-lettered')).to.have.length(3);
    const messages = await page.$$eval('#errors .error-message', (spans) => spans.map((span) => span.textContent));
    expect(messages).to.include(`cannot charge ${XSS}`);
    expect(await page.$$eval('#errors pre.stack', (stacks) => stacks.map((s) => s.textContent ?? ''))).to.satisfy((stacks: string[]) => stacks.every((s) => s.includes('RangeError')));
    expect(await page.$$('main img'), 'an <img> made from the message').to.have.length(0);
    await page.goto(`${web.url}errors?jobClass=Greet`);
    expect(await page.$$('#errors .error')).to.have.length(0);
    await page.goto(`${web.url}errors?topic=${encodeURIComponent(failTopic)}`);
    expect(await page.$$('#errors .error')).to.have.length(6);
    await page.goto(`${web.url}errors?topic=${encodeURIComponent(topic)}`);
    expect(await page.$$('#errors .error')).to.have.length(0);
    expectNoScriptRan(watch);
    await page.close();
  });

  it('Scheduled: jobs waiting per delay tier and when the next leaves it; recurring jobs with their next run', async () => {
    const tier = delayTopics(topic).find((t) => t.endsWith('.delay.10m'))!;
    const { page } = await watchedPage(browser);
    await page.goto(`${web.url}scheduled`);
    expect(await textOf(page, `[data-waiting="${tier}"]`), `jobs waiting in ${tier}`).to.equal('2');
    const nextHop = new Date((await page.getAttribute(`[data-next-hop="${tier}"] time`, 'datetime'))!).getTime();
    expect(nextHop - Date.now(), 'the next job leaves the 10 min tier within 10 min').to.be.within(0, 600_000);
    const newYear = `${new Date().getUTCFullYear() + 1}-01-01T03:00:00.000Z`;
    await waitFor(
      async () => {
        await page.goto(`${web.url}scheduled`);
        return (await page.$(`[data-next-run="new-year-report"] time[datetime="${newYear}"]`)) !== null;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: `the recurring job's next run ${newYear}` },
    );
    await page.close();
  });

  it('Topics: partitions and records kept, a page of names at a time, filtered by name', async () => {
    const { page } = await watchedPage(browser);
    await page.goto(`${web.url}topics?q=${idleTopic}`);
    expect(await textOf(page, `[data-records="${idleTopic}"]`)).to.equal('10');
    expect(await textOf(page, '#topics-range')).to.contain('Topics 1 to 1 of 1.');
    await page.fill('input[name="q"]', topic);
    await Promise.all([page.waitForURL(`**/topics?q=${topic}`), page.click('form.filters button')]);
    expect(await textOf(page, `[data-records="${topic}"]`)).to.equal('3');
    await page.goto(`${web.url}topics`);
    const range = await textOf(page, '#topics-range');
    const matched = Number(/of (\d+)\./.exec(range)?.[1]);
    expect(await page.locator('[data-records]').count()).to.equal(Math.min(matched, 100));
    await page.goto(`${web.url}topics?q=no-such-topic-${idleTopic}`);
    expect(await textOf(page, '#topics-range')).to.contain('No topic matches.');
    await page.close();
  });

  describe('dead letters', () => {
    it('lists the topic, decodes each entry (class, id, arguments as text, error, source), shows one', async () => {
      const { page, watch } = await watchedPage(browser);
      await page.goto(`${web.url}dead-letters`);
      expect(await textOf(page, `[data-total="${deadLetterTopic}"]`)).to.equal('3');
      await page.click(`[data-dlq="${deadLetterTopic}"]`);
      const rows = await page.$$eval('#dead-letters tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
      expect(rows).to.have.length(3);
      expect(rows.every((row) => row.includes('Charge') && row.includes('RangeError') && row.includes(`${failTopic}/`))).to.equal(true);
      expect(await page.$$eval('#dead-letters code.arguments', (cells) => cells.map((c) => c.textContent))).to.deep.equal(['["order-1"]', '["order-2"]', JSON.stringify([XSS])]);
      expect(await page.$$('main img'), 'an <img> made from an argument').to.have.length(0);
      await page.click('#dead-letters tbody tr:nth-child(3) td:nth-child(2) a');
      expect(await textOf(page, 'pre.arguments')).to.equal(JSON.stringify([XSS]));
      expect(await page.$$('main img')).to.have.length(0);
      expectNoScriptRan(watch);
      await page.close();
    });

    it('refuses a replay without the CSRF token, and every POST in read-only mode', async () => {
      const page = await deadLetterPageOf(web);
      const refused = await page.evaluate(async ([action, topic]) => {
        const response = await fetch(action!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `topic=${encodeURIComponent(topic!)}&entry=0@0` });
        return response.status;
      }, [`${web.url}dead-letters/replay`, deadLetterTopic]);
      expect(refused).to.equal(403);
      const readOnly = await startWebServer({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, port: 0, readOnly: true });
      try {
        const { page: shown } = await watchedPage(browser);
        await shown.goto(`${readOnly.url}dead-letters/topic?topic=${encodeURIComponent(deadLetterTopic)}`);
        expect(await shown.$$('#dead-letters tbody tr'), 'entries are shown').to.have.length(3);
        expect(await shown.$$('button[type="submit"], input[name="entry"]'), 'no replay controls').to.have.length(0);
        const csrf = await page.inputValue('input[name="csrf"]');
        const status = await shown.evaluate(
          async ([action, body]) => (await fetch(action!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })).status,
          [`${readOnly.url}dead-letters/replay`, `csrf=${csrf}&topic=${encodeURIComponent(deadLetterTopic)}&entry=0@0`],
        );
        expect(status).to.equal(403);
        await shown.close();
      } finally {
        await readOnly.close();
      }
      expect(charged, 'nothing was replayed').to.deep.equal([]);
      await page.close();
    });

    it('replays a selection from the page: the job runs once, the entry shows as replayed, a second replay skips it', async () => {
      broken = false;
      const page = await deadLetterPageOf(web);
      const first = (await page.getAttribute('#dead-letters input[name="entry"]', 'value'))!;
      await page.check(`#dead-letters input[value="${first}"]`);
      await page.click('#replay-selected');
      expect(await textOf(page, '#replay-result')).to.equal('Replayed 1 dead letter.');
      await waitFor(() => charged.length === 1, { what: 'the replayed job to run' });
      expect(charged).to.deep.equal(['order-1']);
      await page.goto(`${web.url}dead-letters/topic?topic=${encodeURIComponent(deadLetterTopic)}&partition=${first.split('@')[0]}`);
      expect(await textOf(page, `[data-replayed-entry="${first}"]`)).to.equal('replayed');
      expect(await page.$(`#dead-letters input[value="${first}"]`), 'no checkbox for a replayed entry').to.equal(null);
      const csrf = await page.inputValue('input[name="csrf"]');
      const again = await page.evaluate(
        async ([action, body]) => (await (await fetch(action!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })).text()),
        [`${web.url}dead-letters/replay`, `csrf=${encodeURIComponent(csrf)}&topic=${encodeURIComponent(deadLetterTopic)}&entry=${first}`],
      );
      expect(again).to.contain('Replayed 0 dead letters, left 1 alone').and.contain('already-replayed');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(charged, 'the entry ran once').to.deep.equal(['order-1']);
      await page.close();
    });

    it('replays all of a source partition in per-key order, the ones replayed before left alone', async () => {
      const page = await deadLetterPageOf(web);
      await page.click('[data-replay-source]');
      expect(await textOf(page, '#replay-result')).to.equal('Replayed 2 dead letters, left 1 alone.');
      await waitFor(() => charged.length === 3, { what: `the source partition's jobs to run (have ${charged.join(', ')})` });
      expect(charged).to.deep.equal(['order-1', 'order-2', XSS]);
      await page.goto(`${web.url}dead-letters`);
      expect(await textOf(page, `[data-replayed="${deadLetterTopic}"]`)).to.equal('3');
      await page.close();
    });
  });

  /** A browser page on the dead-letter topic's first partition that holds entries. */
  async function deadLetterPageOf(server: WebServer): Promise<Page> {
    const { page } = await watchedPage(browser);
    const partition = await withAdmin(async (admin) => (await admin.fetchTopicOffsets(deadLetterTopic)).find((p) => Number(p.high) > 0)!.partition);
    await page.goto(`${server.url}dead-letters/topic?topic=${encodeURIComponent(deadLetterTopic)}&partition=${partition}`);
    return page;
  }

  it("mounts in a host app's http server under a base path; other paths stay the host app's", async () => {
    const handler = createWebHandler({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, basePath: '/ops/partita' });
    const host = createServer((request, response) =>
      handler(request, response, () => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end('the host app');
      }),
    );
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
    try {
      const { page } = await watchedPage(browser);
      await page.goto(`${base}/ops/partita/topics?q=${idleTopic}`);
      expect(await textOf(page, `[data-records="${idleTopic}"]`)).to.equal('10');
      await page.click('nav a:text("Consumer groups")');
      expect(page.url()).to.equal(`${base}/ops/partita/groups`);
      expect(await textOf(page, `[data-partition-lag="${idleTopic}/0"]`)).to.equal('7');
      expect(await (await fetch(`${base}/elsewhere`)).text()).to.equal('the host app');
      await page.close();
    } finally {
      await handler.close();
      host.closeAllConnections();
      await new Promise((resolve) => host.close(resolve));
    }
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
        expect((await fetch(`${guarded.url}topics?q=${idleTopic}`, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(200);
        const { page } = await watchedPage(browser);
        const response = await page.goto(`${guarded.url}topics?q=${idleTopic}&token=${token}`);
        expect(response?.status()).to.equal(200);
        expect(page.url()).to.equal(`${guarded.url}topics?q=${idleTopic}`);
        expect(await textOf(page, `[data-records="${idleTopic}"]`)).to.equal('10');
        await page.close();
      } finally {
        await guarded.close();
      }
    });
  });
});
