/**
 * The status page at `/`, in a real headless Chromium (Debian's package) driven by puppeteer-core:
 * a `collector run` daemon with a token, collecting from two `collector simulate` processes
 * (Binance and OKX). Saves test-output/status-page.png (and -phone, -dark) for a person to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceStatus } from '../src/data-collector.js';
import { daemonTestbed, REPO, startCollectorDaemon, startSimulatorProcess, type RunningDaemon, type SimulatorProcess } from './support/cli.js';
import { freePort } from './support/redis-server.js';
import { writeConfig } from './support/config-files.js';

// The callbacks given to page.evaluate and waitForFunction run in the page: the browser globals they use.
interface PageElement {
  id: string;
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  activeElement: PageElement | null;
  body: PageElement;
  documentElement: { scrollWidth: number; clientWidth: number };
  cookie: string;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): { length: number };
};
declare const window: object;
declare const CSS: { escape(text: string): string };
declare function getComputedStyle(element: unknown): { outlineStyle: string; color: string; backgroundColor: string };

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const NO_BROWSER = existsSync(CHROMIUM) ? undefined : `SKIPPED status page tests: no Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium; or set CHROMIUM=/path/to/it)`;
if (NO_BROWSER) console.warn(NO_BROWSER);

const OUTPUT = join(REPO, 'test-output');
const TOKEN = 'page-test-t0ken-not-for-the-page';
// Generous: a condition a person would see within a few seconds, on a busy 2-core machine.
const WAIT = { timeout: 45_000, polling: 200 };

describe.skipIf(NO_BROWSER)('the status page in Chromium, against a daemon collecting from two simulators', () => {
  const bed = daemonTestbed('qc-status-page-');
  let browser: Browser;
  let page: Page;
  let config: string;
  let daemon: RunningDaemon;
  let okx: SimulatorProcess;

  /** Every collector's id, from the daemon's /status. */
  const collectorIds = async (): Promise<string[]> => {
    const res = await fetch(`${daemon.statusUrl}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return ((await res.json()) as ServiceStatus).collectors.map((c) => c.id);
  };
  /** data-health of each collector's card, by id. */
  const health = () => page.$$eval('[data-collector]', (cards) => Object.fromEntries(cards.map((c) => [c.getAttribute('data-collector'), c.getAttribute('data-health')])));
  const points = (key: string) => page.$eval(`figure[data-series="${key}"]`, (f) => Number(f.getAttribute('data-points')));

  beforeAll(async () => {
    const binance = await startSimulatorProcess('binance', ['BTC-USDT']);
    okx = await startSimulatorProcess('okx', ['BTC-USDT']);
    for (const sim of [binance, okx]) bed.sims.push({ close: async () => sim.child.kill('SIGKILL') });
    config = join(bed.dir, 'page.yaml');
    writeConfig(
      config,
      `storage: { kind: sqlite, path: ./page.db }
http: { listen: "127.0.0.1:${await freePort()}", token: "${TOKEN}" }
collector: { restart: { initialDelay: 300ms, maxDelay: 2s } }
exchanges:
  binance: { wsUrl: "${binance.wsUrl}", restUrl: "${binance.restUrl}" }
  okx: { wsUrl: "${okx.wsUrl}", restUrl: "${okx.restUrl}" }
feeds:
  - { name: binance-btc, exchange: binance, symbol: BTC-USDT, collect: [trades, liquidity, "klines:1m"] }
  - { name: okx-btc, exchange: okx, symbol: BTC-USDT, collect: [trades, liquidity] }
`,
    );
    daemon = await startCollectorDaemon(['-c', config]);
    bed.daemons.push(daemon);
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    mkdirSync(OUTPUT, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('needs the token: opened once as /?token=..., it sets an HttpOnly SameSite=Strict cookie, drops the token from the address and never shows it', async () => {
    expect((await fetch(`${daemon.statusUrl}/`)).status).toBe(401);
    expect((await fetch(`${daemon.statusUrl}/?token=wrong`)).status).toBe(401);
    await page.goto(`${daemon.statusUrl}/?token=${TOKEN}`);
    expect(page.url()).toBe(`${daemon.statusUrl}/`);
    await page.waitForSelector('body[data-connection="live"]', WAIT);
    const cookies = await browser.cookies();
    expect(cookies).toEqual([expect.objectContaining({ httpOnly: true, sameSite: 'Strict', path: '/' })]);
    expect(cookies[0]!.value).not.toContain(TOKEN);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.content()).not.toContain(TOKEN);
  });

  it('lists every collector, and a chart has points and grows without a reload', async () => {
    const ids = await collectorIds();
    expect(ids.sort()).toEqual(['klines:binance:BTC-USDT:1m', 'liquidity:binance', 'liquidity:okx', 'trades:binance', 'trades:okx']);
    await page.waitForFunction((wanted: string[]) => wanted.every((id) => document.querySelector(`[data-collector="${CSS.escape(id)}"]`)), WAIT, ids);
    await page.waitForFunction(() => Number(document.querySelector('figure[data-series="trades:binance:BTC-USDT"]')?.getAttribute('data-points')) > 0, WAIT);
    const before = await points('trades:binance:BTC-USDT');
    await page.waitForFunction((n: number) => Number(document.querySelector('figure[data-series="trades:binance:BTC-USDT"]')!.getAttribute('data-points')) > n, WAIT, before);
    // Every series a collector writes that has a chart has one: price and volume, spread and depth, close.
    const charts = await page.$$eval('figure[data-series]', (figures) => figures.map((f) => f.getAttribute('data-series')));
    expect(charts.sort()).toEqual(['klines:binance:BTC-USDT:1m', 'liquidity:binance:BTC-USDT', 'liquidity:okx:BTC-USDT', 'trades:binance:BTC-USDT', 'trades:okx:BTC-USDT']);
    expect(await page.$eval('figure[data-series="trades:okx:BTC-USDT"] .legend', (l) => l.textContent)).toMatch(/^price [\d,.]+volume\/min [\d,.]+$/);
    expect(Object.values(await health()).every((h) => h === 'ok')).toBe(true);
  });

  it('turns the collectors of a simulator that was killed red with their error; the others stay green', async () => {
    okx.child.kill('SIGKILL');
    await okx.exited;
    await page.waitForFunction(
      () =>
        ['trades:okx', 'liquidity:okx'].every((id) => {
          const card = document.querySelector(`[data-collector="${id}"]`);
          return card?.getAttribute('data-health') === 'bad' && /ECONNREFUSED/.test(card.querySelector('.error')?.textContent ?? '');
        }),
      WAIT,
    );
    const errors = await page.$$eval('[data-collector$=":okx"] .error', (els) => els.map((e) => e.textContent));
    expect(errors).toEqual([expect.stringMatching(/^trades:okx: .*ECONNREFUSED/), expect.stringMatching(/^liquidity:okx: .*ECONNREFUSED/)]);
    const colour = await page.$eval('[data-collector="trades:okx"] .error', (e) => getComputedStyle(e).color);
    expect(colour).toBe('rgb(198, 40, 40)'); // --bad, the light theme's red
    const byId = await health();
    expect([byId['trades:binance'], byId['liquidity:binance']]).toEqual(['ok', 'ok']);
    await page.screenshot({ path: join(OUTPUT, 'status-page.png'), fullPage: true });
  });

  it('is usable from the keyboard, readable on a phone, and follows the system theme', async () => {
    await page.focus('body');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to collectors');
    // Tab on to the pause button: a real button, focus visible, Enter toggles it.
    for (let i = 0; i < 5 && (await page.evaluate(() => document.activeElement?.id)) !== 'pause'; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-connection="paused"]', WAIT);
    expect(await page.$eval('#pause', (b) => [b.getAttribute('aria-pressed'), b.textContent])).toEqual(['true', 'Resume updates']);
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-connection="live"]', WAIT);

    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
    await page.waitForFunction(() => document.querySelectorAll('figure .uplot').length > 0, WAIT);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
    await page.screenshot({ path: join(OUTPUT, 'status-page-phone.png'), fullPage: true });
    await page.setViewport({ width: 1280, height: 900 });

    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const light = await background();
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    expect(await background()).not.toBe(light);
    await page.screenshot({ path: join(OUTPUT, 'status-page-dark.png'), fullPage: true });
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
  });

  it('survives the daemon restarting: says it is unreachable, then recovers on its own, without a reload', async () => {
    const startedAt = await page.evaluate(() => document.body.dataset.startedAt);
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await page.waitForSelector('body[data-connection="lost"]', WAIT);
    expect(await page.$eval('#connection', (e) => e.textContent)).toMatch(/^Daemon unreachable since /);

    daemon = await startCollectorDaemon(['-c', config]);
    bed.daemons.push(daemon);
    await page.waitForFunction((before: string | undefined) => document.body.dataset.connection === 'live' && document.body.dataset.startedAt !== before, WAIT, startedAt);
    expect(await page.evaluate(() => (window as { sameDocument?: boolean }).sameDocument)).toBe(true);
    const ids = await collectorIds();
    await page.waitForFunction((wanted: string[]) => wanted.every((id) => document.querySelector(`[data-collector="${CSS.escape(id)}"]`)), WAIT, ids);
    // Its charts read the window anew from storage and go on growing.
    await page.waitForFunction(() => Number(document.querySelector('figure[data-series="trades:binance:BTC-USDT"]')?.getAttribute('data-points')) > 0, WAIT);
    const before = await points('trades:binance:BTC-USDT');
    await page.waitForFunction((n: number) => Number(document.querySelector('figure[data-series="trades:binance:BTC-USDT"]')!.getAttribute('data-points')) > n, WAIT, before);
  });
});
