// Opens a site `imgctl site --out DIR` rendered, from disk (file://), in Debian's headless
// chromium driven by playwright-core, and reports as JSON (stdout and OUT/report.json) what a
// visitor meets: errors, links, the fleet table and its filter, a rollback's reason, the keyboard
// path, accessibility basics and screenshots. It judges nothing: the Rust test
// (crates/imgctl/tests/it/site_browser.rs) asserts on the report.
//
// usage: node check-site.mjs '{"site":DIR,"out":DIR,"rollback":VARIANT,"filters":[QUERY…],"shots":[PAGE…]}'
// env: IMGCTL_CHROMIUM (default /usr/bin/chromium)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { auditPage, focused } from './audit.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
if (!cfg.site || !cfg.out) {
  console.error('usage: node check-site.mjs \'{"site":DIR,"out":DIR,"rollback":VARIANT,"filters":[…],"shots":[…]}\'');
  process.exit(2);
}
const site = path.resolve(cfg.site);
const out = path.resolve(cfg.out);
fs.mkdirSync(path.join(out, 'screens'), { recursive: true });
const executablePath = process.env.IMGCTL_CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) {
  console.error(`${executablePath} is not installed: install Debian's chromium (apt-get install chromium), as scripts/test does`);
  process.exit(2);
}

const started = Date.now();
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'imgctl-site-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
context.setDefaultTimeout(10000);
const page = context.pages()[0] || (await context.newPage());
const version = (await (await context.newCDPSession(page)).send('Browser.getVersion')).product;
const playwright = JSON.parse(fs.readFileSync(createRequire(import.meta.url).resolve('playwright-core/package.json'), 'utf8')).version;

// everything the page says went wrong, tagged with the page it happened on
let current = null;
const errors = [];
const external = [];
page.on('console', (m) => m.type() === 'error' && errors.push({ page: current, kind: 'console', text: m.text() }));
page.on('pageerror', (e) => errors.push({ page: current, kind: 'pageerror', text: String(e) }));
page.on('requestfailed', (r) => errors.push({ page: current, kind: 'requestfailed', text: `${r.url()}: ${r.failure()?.errorText}` }));
page.on('request', (r) => !r.url().startsWith('file:') && !r.url().startsWith('data:') && external.push({ page: current, url: r.url() }));

// runs a part of the check; a part that cannot run (a missing element…) says why in `into.error`
async function attempt(into, part) {
  try {
    await part();
  } catch (e) {
    into.error = String(e.message || e).split('\n')[0];
  }
}

const rel = (file) => path.relative(site, file).split(path.sep).join('/');
const open = async (relPath) => {
  if (!fs.existsSync(path.join(site, relPath))) throw new Error(`no page ${relPath}`);
  current = relPath;
  await page.goto(pathToFileURL(path.join(site, relPath)).href, { waitUntil: 'load' });
};

// crawl every page reachable from index.html, then every other page on disk
const pages = {};
const refs = [];
const queue = ['index.html'];
const onDisk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? onDisk(path.join(dir, e.name)) : e.name.endsWith('.html') ? [rel(path.join(dir, e.name))] : []));
const linked = new Set(['index.html']);
async function visit(p) {
  await open(p);
  const light = await page.evaluate(auditPage);
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = (await page.evaluate(auditPage)).contrast;
  await page.emulateMedia({ colorScheme: 'light' });
  const { refs: here, ids, ...rest } = light;
  pages[p] = { ...rest, contrastDark: dark, ids };
  for (const r of here) {
    refs.push({ page: p, ...r });
    const u = new URL(r.url);
    if (u.protocol !== 'file:') continue;
    const target = fileURLToPath(u);
    if (target.endsWith('.html') && fs.existsSync(target) && target.startsWith(site + path.sep)) {
      const t = rel(target);
      if (!linked.has(t)) linked.add(t), queue.push(t);
    }
  }
}
const visitOrSay = async (p) => {
  pages[p] = {};
  await attempt(pages[p], () => visit(p));
};
while (queue.length) await visitOrSay(queue.shift());
const orphans = onDisk(site).filter((p) => !linked.has(p)).sort();
for (const p of orphans) await visitOrSay(p);

// every reference resolves: a file inside the site, and its fragment an id on that page
const broken = [];
const outside = [];
for (const r of refs) {
  const u = new URL(r.url);
  if (u.protocol !== 'file:') {
    outside.push(r);
    continue;
  }
  if (/^[a-z][a-z0-9+.-]*:|^\//i.test(r.href)) broken.push({ ...r, why: 'not a relative link' });
  const target = fileURLToPath(u);
  if (!target.startsWith(site + path.sep)) broken.push({ ...r, why: 'outside the site' });
  else if (!fs.existsSync(target)) broken.push({ ...r, why: 'no such file' });
  else if (fs.statSync(target).isDirectory()) broken.push({ ...r, why: 'a directory (no page from file://)' });
  else if (u.hash && u.hash !== '#') {
    const ids = pages[rel(target)]?.ids;
    const id = decodeURIComponent(u.hash.slice(1));
    if (!ids) broken.push({ ...r, why: `fragment on a file that is not a page: ${u.hash}` });
    else if (!ids.includes(id)) broken.push({ ...r, why: `no element with id '${id}'` });
  }
}
for (const p of Object.values(pages)) delete p.ids;

// the fleet table and its filter, typed key by key as a person would
const rows = () => page.evaluate(() => {
  const all = [...document.querySelectorAll('#fleet tbody tr')];
  return {
    rows: all.length,
    variants: all.map((r) => r.dataset.variant),
    visible: all.filter((r) => r.checkVisibility()).map((r) => r.dataset.variant),
    hiddenAttr: all.filter((r) => r.hidden).length,
    count: document.querySelector('#count')?.textContent.trim() ?? null,
    countLive: document.querySelector('#count')?.getAttribute('aria-live') ?? null,
    filterLabel: document.querySelector('label[for=filter]')?.textContent.trim() ?? null,
    filterType: document.querySelector('#filter')?.getAttribute('type') ?? null,
  };
});
const fleet = { filters: [] };
const settle = () => page.waitForTimeout(400); // site.js may debounce its input handler
await attempt(fleet, async () => {
  await open('index.html');
  Object.assign(fleet, await rows());
  const filter = page.locator('#filter');
  for (const q of cfg.filters || []) {
    await filter.fill('');
    await filter.pressSequentially(q);
    await settle();
    const r = await rows();
    fleet.filters.push({ query: q, visible: r.visible, hiddenAttr: r.hiddenAttr, count: r.count });
  }
  await filter.fill('');
  await filter.press('End'); // a key event after clearing, like a person deleting
  await settle();
  const cleared = await rows();
  fleet.cleared = { visible: cleared.visible, count: cleared.count };
});

// the keyboard path from the top of the fleet page
const keyboard = { tabs: [] };
await attempt(keyboard, async () => {
  await open('index.html');
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    keyboard.tabs.push(await page.evaluate(focused));
  }
  keyboard.skip = keyboard.tabs.findIndex((f) => f && f.tag === 'a' && f.href?.startsWith('#') && /skip/i.test(f.text));
  keyboard.filter = keyboard.tabs.findIndex((f) => f?.id === 'filter');
  keyboard.afterSkip = null;
  if (keyboard.skip >= 0) {
    await open('index.html');
    for (let i = 0; i <= keyboard.skip; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    keyboard.afterSkip = await page.evaluate(focused);
  }
});

// a rolled-back variant's timeline
const rollback = {};
if (cfg.rollback) await attempt(rollback, async () => {
  await open(`variants/${cfg.rollback}.html`);
  Object.assign(rollback, await page.evaluate(() => ({
    timeline: !!document.querySelector('ol#timeline'),
    items: [...document.querySelectorAll('#timeline > li')].map((li) => ({
      kind: li.dataset.kind,
      reason: li.querySelector('.reason')?.textContent.trim() ?? null,
      times: [...li.querySelectorAll('time')].map((t) => t.getAttribute('datetime')),
      digestLinks: [...li.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')).filter((h) => h.includes('digests/')),
      text: li.textContent.replace(/\s+/g, ' ').trim().slice(0, 200),
    })),
  })));
});

// screenshots, full page, at a desktop and a phone width; whether the page itself scrolls sideways
const shots = [];
const layout = () => page.evaluate(() => {
  const t = document.querySelector('#fleet');
  let box = t?.parentElement;
  while (box && box !== document.body && !/auto|scroll/.test(getComputedStyle(box).overflowX)) box = box.parentElement;
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth,
    tableWidth: t ? Math.round(t.getBoundingClientRect().width) : null,
    tableScroller: box && box !== document.body ? { el: box.tagName.toLowerCase() + (box.id ? '#' + box.id : ''), clientWidth: box.clientWidth, scrollWidth: box.scrollWidth } : null,
  };
});
for (const p of cfg.shots || ['index.html']) {
  for (const width of [1280, 390]) {
    const shot = { page: p, width };
    shots.push(shot);
    await attempt(shot, async () => {
      await page.setViewportSize({ width, height: width === 1280 ? 800 : 844 });
      await open(p);
      const file = path.join(out, 'screens', `${p.replace(/\.html$/, '').replace(/[/]/g, '-')}-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      Object.assign(shot, { file, ...(await layout()) });
    });
  }
}

await context.close();
fs.rmSync(profile, { recursive: true, force: true });
const report = { chromium: version, playwright, ms: Date.now() - started, pages, orphans, links: { checked: refs.length, broken, outside }, errors, external, fleet, keyboard, rollback, shots };
fs.writeFileSync(path.join(out, 'report.json'), JSON.stringify(report, null, 2));
process.stdout.write(JSON.stringify(report));
