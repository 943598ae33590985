// Browser checks of cella's viewer pages, in Debian's chromium driven by playwright-core.
// Run by tests/viewer_browser.rs: `node viewer/test/browser.mjs SPEC.json`. The spec names the
// pages (and, for the live page, the server) and what cella computed for them; this script
// reports what the browser shows as JSON on stdout, one line, and checks nothing itself
// except what only the browser can (requests, console errors, pixels): the Rust test decides.
//
// spec: {
//   chromium: "/usr/bin/chromium", screenshots: "DIR",
//   pages: [{ name, file, times: [t, ...] }],            // file pages: TCP read at each t
//   live:  { name, url, robot, goal: [q], timeout_ms }   // the live page of `cella serve`
// }
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
fs.mkdirSync(spec.screenshots, { recursive: true });

const browser = await chromium.launch({
  executablePath: spec.chromium,
  headless: true,
  // root in CI: no sandbox; no GPU here: WebGL on SwiftShader; and none of chromium's own
  // background connections (the machine has no network for them)
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
    '--disable-quic', '--disable-features=MediaRouter,OptimizationHints,Translate'],
});

function watch(page, allowed) {
  const seen = { console: [], requests: [], blocked: [] };
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') seen.console.push(m.type() + ': ' + m.text()); });
  page.on('pageerror', (e) => seen.console.push('pageerror: ' + e.message));
  page.on('request', (r) => seen.requests.push(r.url()));
  return seen;
}

/* The pixel colours at each limit line of each plot: [{id, quantity, joint, limits: [{value,
 * row, rgb}]}]. */
async function plotLimits(page) {
  return page.evaluate(() => window.cellaViewer.plots().map((p) => {
    // read through a copy: reading the plot's own context would make chromium warn
    const src = document.getElementById(p.id);
    const c = document.createElement('canvas');
    c.width = src.width; c.height = src.height;
    const g = c.getContext('2d', { willReadFrequently: true });
    g.drawImage(src, 0, 0);
    return { id: p.id, quantity: p.quantity, joint: p.joint, limits: p.limits.map((l) => {
      const rgb = [];
      for (let k = 1; k <= 9; k++) {
        const d = g.getImageData(Math.floor(c.width * (0.3 + 0.07 * k)), l.row, 1, 1).data;
        rgb.push([d[0], d[1], d[2]]);
      }
      return { value: l.value, row: l.row, rgb };
    }) };
  }));
}

const results = { pages: [], live: null };

for (const p of spec.pages || []) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const url = pathToFileURL(path.resolve(p.file)).href;
  const seen = watch(page);
  // the page may load nothing but itself
  await page.route('**/*', (route) => {
    if (route.request().url() === url) return route.continue();
    seen.blocked.push(route.request().url());
    return route.abort();
  });
  const started = Date.now();
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.cellaViewer && window.cellaViewer.ready, null, { timeout: 20000 });
  const loadMs = Date.now() - started;
  const info = await page.evaluate(() => ({
    mode: window.cellaViewer.mode,
    duration: window.cellaViewer.duration,
    timeline: window.cellaViewer.timeline ? window.cellaViewer.timeline() : null,
    closest: window.cellaViewer.closest || null,
    highlighted: window.cellaViewer.highlighted ? window.cellaViewer.highlighted() : [],
  }));
  const out = { name: p.name, url, loadMs, ...info, tcp: [], ink: null, plots: [] };
  if (info.mode !== 'bench') {
    // the robot where it stands: ink inside its projected box
    out.box = await page.evaluate(() => window.cellaViewer.robotScreenBox(0));
    out.ink = await page.evaluate((b) => window.cellaViewer.inkIn(b), out.box);
    out.inkCorner = await page.evaluate(() => window.cellaViewer.inkIn({ x0: 2, y0: 2, x1: 40, y1: 40 }));
    await page.screenshot({ path: path.join(spec.screenshots, p.name + '.png') });
    for (const t of p.times || []) {
      const tcp = await page.evaluate((tt) => window.cellaViewer.tcpAt(tt), t);
      out.tcp.push({ t, p: tcp });
    }
    if ((p.times || []).length) {
      // scrubbed to the middle, the timeline slider shows it
      const mid = p.times[Math.floor(p.times.length / 2)];
      await page.evaluate((tt) => window.cellaViewer.setTime(tt), mid);
      out.slider = await page.evaluate(() => +document.getElementById('timeline').value);
      await page.screenshot({ path: path.join(spec.screenshots, p.name + '-scrubbed.png') });
      // play at 4x for a moment: time advances
      const before = await page.evaluate(() => { window.cellaViewer.setTime(0); window.cellaViewer.setSpeed(4); window.cellaViewer.play(); return window.cellaViewer.time(); });
      await page.waitForTimeout(400);
      out.played = await page.evaluate(() => { const t = window.cellaViewer.time(); window.cellaViewer.pause(); return t; }) - before;
    }
    out.plots = await plotLimits(page);
  } else {
    await page.screenshot({ path: path.join(spec.screenshots, p.name + '.png'), fullPage: true });
    out.tables = await page.evaluate(() => document.querySelectorAll('table.stats tr').length);
    out.canvases = await page.evaluate(() => Array.from(document.querySelectorAll('canvas')).map((c) => c.id));
  }
  out.console = seen.console;
  out.requests = seen.requests;
  out.blocked = seen.blocked;
  results.pages.push(out);
  await context.close();
}

if (spec.live) {
  const l = spec.live;
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const seen = watch(page);
  await page.goto(l.url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.cellaViewer && window.cellaViewer.ready && window.cellaViewer.liveUpdates > 0, null, { timeout: 20000 });
  const initial = await page.evaluate((id) => window.cellaViewer.liveJoints(id), l.robot);
  const box = await page.evaluate(() => window.cellaViewer.robotScreenBox(0));
  const ink = await page.evaluate((b) => window.cellaViewer.inkIn(b), box);
  await page.screenshot({ path: path.join(spec.screenshots, l.name + '-before.png') });
  // tell the test to start the motion, then record what the page shows
  process.stderr.write('READY\n');
  const samples = [];
  const deadline = Date.now() + (l.timeout_ms || 20000);
  let atGoalSince = null, midShot = false;
  while (Date.now() < deadline) {
    const q = await page.evaluate((id) => window.cellaViewer.liveJoints(id), l.robot);
    const now = Date.now();
    samples.push({ ms: now, q });
    const err = Math.max(...q.map((v, i) => Math.abs(v - l.goal[i])));
    const moved = Math.max(...q.map((v, i) => Math.abs(v - initial[i])));
    if (!midShot && moved > 0.05 && err > 0.05) {
      midShot = true;
      await page.screenshot({ path: path.join(spec.screenshots, l.name + '-moving.png') });
    }
    if (err < 1e-4) { if (atGoalSince === null) atGoalSince = now; if (now - atGoalSince > 300) break; } else atGoalSince = null;
    await page.waitForTimeout(25);
  }
  // a world edit made over gRPC shows (the page re-reads the world when its version changes)
  let object = null;
  if (l.object) {
    object = await page.waitForFunction((name) => Array.from(document.querySelectorAll('#objects li'))
      .some((li) => li.textContent.startsWith(name + ' ')), l.object, { timeout: 10000 }).then(() => true, () => false);
  }
  await page.screenshot({ path: path.join(spec.screenshots, l.name + '-after.png') });
  const cards = await page.evaluate(() => Array.from(document.querySelectorAll('.card')).map((c) => c.textContent));
  // what the page applied to the robot, as it applied it (its own clock: the same as ours)
  const applied = await page.evaluate((id) => window.cellaViewer.liveLog(id), l.robot);
  results.live = { name: l.name, initial, samples, applied, object, ink, box, cards, console: seen.console, requests: seen.requests };
  await context.close();
}

await browser.close();
process.stdout.write(JSON.stringify(results) + '\n');
