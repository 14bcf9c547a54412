// The real binary on a temporary database, driven as a user would, for the
// browser tests: two organisations, real data (starter data, ACLED fixture
// rows, the Burkina Faso roads from the shared data), and Debian's Chromium.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.SAHELWATCH_BIN || join(ROOT, 'target/debug/sahelwatch');
export const SHARED = process.env.SAHELWATCH_SHARED_DATA || resolve(ROOT, '../shared/data');
export const ARTIFACTS = join(ROOT, 'tests-artifacts/e2e');
export const PASSWORD = 'correct horse battery';

function run(args, input) {
  return execFileSync(BIN, args, { input, encoding: 'utf8', env: { ...process.env, SAHELWATCH_LOG: 'warn' } });
}

/** Wait until `f` returns a truthy value (polling), or fail naming `what`. */
export async function until(what, f, ms = 20000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try { last = await f(); if (last) return last; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

/** Start a server with agency A (alice, admin) and NGO B (bob, analyst). */
export async function startServer() {
  if (!existsSync(BIN)) throw new Error(`${BIN} not found: run cargo build -p sahelwatch first`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'sahelwatch-e2e-'));
  const db = join(dir, 'e2e.db');
  const token = run(['-d', db, 'admin', 'bootstrap', '--org', 'Agency A', '--username', 'alice', '--password-stdin'], `${PASSWORD}\n`).trim().split('\n').pop();
  run(['-d', db, 'import', 'starter']);
  run(['-d', db, 'import', 'acled', '--org', 'Agency A', '--tlp', 'AMBER', join(ROOT, 'crates/sahelwatch-app/tests/fixtures/acled_current_sahel.csv')]);
  run(['-d', db, 'import', 'roads', '--name', 'bf', join(SHARED, 'roads/bfa_roadlines_vmap0_divagis.geojson')]);
  const server = spawn(BIN, ['-d', db, 'serve', '--no-starter-data', '--listen', '127.0.0.1:0', '--osmand-listen', '127.0.0.1:0'],
    { env: { ...process.env, SAHELWATCH_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stdout.on('data', (d) => { out += d; });
  server.stderr.on('data', (d) => { out += d; });
  const base = await until('the server to listen', () => out.match(/Listening on (http:\/\/[\d.:]+)/)?.[1], 60000);
  const osmand = await until('the OsmAnd listener', () => out.match(/OsmAnd protocol on (http:\/\/[\d.:]+)\//)?.[1], 10000);
  const s = { dir, db, base, osmand, token, server, log: () => out };
  s.api = async (method, path, body, bearer = token) => {
    const r = await fetch(base + path, {
      method, headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return json;
  };
  // NGO B and its analyst bob.
  const orgB = await s.api('POST', '/api/v1/organisations', { name: 'NGO B' });
  await s.api('POST', '/api/v1/users', { username: 'bob', role: 'analyst', password: PASSWORD, organisation: orgB.id });
  s.stop = async () => {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  };
  return s;
}

/** Debian's Chromium through Playwright: no downloaded browser. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A signed-in page for `user`, failing on any request that leaves the
 * server (the interface must work offline) and on page errors.
 */
export async function signedIn(browser, s, user, { locale = 'en-GB', viewport = { width: 1366, height: 850 } } = {}) {
  const context = await browser.newContext({ locale, viewport });
  const page = await context.newPage();
  page.offsite = [];
  page.errors = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(s.base) && !u.startsWith('data:') && !u.startsWith('blob:')) page.offsite.push(u);
  });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => {
    // Before signing in, "who am I" is expected to answer 401.
    if (m.type() === 'error' && !(m.text().includes('401') && m.location().url.endsWith('/api/v1/me'))) {
      page.errors.push(`${m.text()} (${m.location().url})`);
    }
  });
  await page.goto(s.base + '/');
  await page.fill('#username', user);
  await page.fill('#password', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('body[data-map-ready="1"]', { timeout: 60000 });
  return page;
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

export function save(name, text) {
  writeFileSync(join(ARTIFACTS, name), text);
}
