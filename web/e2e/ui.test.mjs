// End-to-end tests of the web interface in headless Chromium against the
// real server (see harness.mjs). Each step saves a screenshot under
// tests-artifacts/e2e/. Run by scripts/e2e/run.
import { describe, it as test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, signedIn, shot, until, ROOT, BIN } from './harness.mjs';
import { DICTS } from '../../crates/sahelwatch-server/web/app/i18n.js';

const FR_MONTHS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'];
const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);

/** Every step has two minutes at most: a hang fails with its name. */
const it = (name, f) => test(name, { timeout: 120000 }, f);

let s;
let browser;
let alice; // agency A's page
let ambush; // agency A's AMBER incident on the Ouagadougou–Dori road
let routeId;
const ambushDate = day(-3);

/** The incident ids in the map's data. */
const mapIds = (page) => page.evaluate(() => window.sahelwatchMap.getSource('incidents-heat').serialize().data.features.map((f) => f.properties.id));

/** Wait for the counts, trend and change of the latest filter and view. */
const statsDone = (page) => page.waitForSelector('body[data-stats=done]');

/** Apply the incident filter's text field. */
async function filterText(page, text) {
  await page.fill('#filters input[name=q]', text);
  await page.click('#filters button[type=submit]');
}

before(async () => {
  s = await startServer();
  // A third of the way along the fastest Ouagadougou–Dori road: agency A's
  // AMBER ambush, recent, so the road there is high-risk for A only.
  const plan = await s.api('POST', '/api/v1/routes', { from: 'Ouagadougou', to: 'Dori', mode: 'fastest', alternatives: false });
  const g = plan.routes[0].geometry;
  const p = g[Math.floor(g.length / 3)];
  ambush = await s.api('POST', '/api/v1/incidents', {
    incident: {
      event_date: ambushDate, time_precision: 1, sub_event_type: 'Remote explosive/landmine/IED',
      fatalities: { best: 5 }, notes: 'SYNTHETIC e2e marker: a convoy struck by an IED on the Ouagadougou–Dori road.',
      actor1: 'JNIM',
      location: { country: 'BF', latitude: p[1], longitude: p[0], geo_precision: 1 },
    },
    marking: { tlp: 'AMBER' },
  });
  const saved = await s.api('POST', '/api/v1/routes/saved', { name: 'Ouagadougou–Dori', route: { from: 'Ouagadougou', to: 'Dori', mode: 'fastest' } });
  routeId = saved.id;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await s?.stop();
});

describe('the web interface, as agency A', () => {
  it('signs in and draws the offline map with the incidents A may see', async () => {
    alice = await signedIn(browser, s, 'alice');
    await alice.waitForSelector('#count');
    const all = await s.api('GET', '/api/v1/incidents/counts');
    await until('every incident on the map', async () => (await mapIds(alice)).length === all.count);
    assert.ok((await mapIds(alice)).includes(ambush.id), 'A sees its own AMBER incident');
    const towns = await alice.evaluate(() => window.sahelwatchMap.queryRenderedFeatures({ layers: ['town-label'] }).length);
    assert.ok(towns > 5, `town labels are drawn (${towns})`);
    const countries = await alice.evaluate(() => window.sahelwatchMap.queryRenderedFeatures({ layers: ['country-line'] }).length);
    assert.ok(countries > 0, 'country borders are drawn');
    await shot(alice, '01-map-signed-in');
    assert.deepEqual(alice.offsite, [], 'no request leaves the server');
  });

  it('filters by country and event type; counts, trend and change follow', async () => {
    await alice.fill('#filters input[name=country]', 'BF');
    await alice.selectOption('#filters select[name=event_type]', 'Explosions/Remote violence');
    await alice.click('#filters button[type=submit]');
    const want = await s.api('GET', '/api/v1/incidents/counts?country=BF&event_type=Explosions/Remote%20violence');
    await until('the filtered incidents', async () => (await mapIds(alice)).length === want.count);
    assert.ok(want.count >= 1);
    await statsDone(alice);
    await alice.waitForSelector('#trend-chart');
    const bars = await alice.$$eval('#trend-chart rect.bar title', (ts) => ts.reduce((n, t) => n + Number(t.textContent.split(': ')[1].split(' ')[0]), 0));
    const shown = Number((await alice.textContent('#count')).replace(/\D/g, ''));
    assert.equal(bars, shown, 'the trend chart adds up to the count in view');
    await shot(alice, '02-filtered');
  });

  it('draws the heat map and the hotspot layer', async () => {
    await alice.click('#filters button.secondary'); // reset
    const all = await s.api('GET', '/api/v1/incidents/counts');
    await until('every incident again', async () => (await mapIds(alice)).length === all.count);
    await alice.check('input[name=layer-heat]');
    await alice.uncheck('input[name=layer-clusters]');
    await alice.check('input[name=layer-hotspots]');
    const cells = await until('hotspot cells', () => alice.evaluate(() => window.sahelwatchMap.getSource('hotspots').serialize().data.features?.length));
    assert.ok(cells > 0);
    await alice.evaluate(() => new Promise((r) => { window.sahelwatchMap.once('idle', r); window.sahelwatchMap.triggerRepaint(); }));
    await shot(alice, '02b-heat-and-hotspots');
    await alice.uncheck('input[name=layer-heat]');
    await alice.uncheck('input[name=layer-hotspots]');
    await alice.check('input[name=layer-clusters]');
  });

  it('opens an incident: details, TLP badge', async () => {
    await alice.click('#filters button.secondary'); // reset
    await filterText(alice, 'e2e marker');
    await until('one incident', async () => (await mapIds(alice)).length === 1);
    const [lon, lat] = [ambush.longitude ?? ambush.location?.longitude, ambush.latitude ?? ambush.location?.latitude];
    await alice.evaluate(([x, y]) => new Promise((r) => {
      const map = window.sahelwatchMap;
      map.once('idle', r);
      map.jumpTo({ center: [x, y], zoom: 12 });
    }), [lon, lat]);
    const box = await alice.locator('#map canvas').boundingBox();
    const pt = await alice.evaluate(([x, y]) => window.sahelwatchMap.project([x, y]), [lon, lat]);
    await alice.mouse.click(box.x + pt.x, box.y + pt.y);
    await alice.waitForSelector('#detail .tlp');
    await shot(alice, '03-incident');
    const text = await alice.textContent('#detail');
    assert.match(text, /TLP:AMBER/);
    assert.match(text, /Remote explosive/);
  });

  it('files a report, shows the extraction with spans, and confirms the match', async () => {
    await alice.goto(`${s.base}/#reports`);
    const d = new Date(ambushDate);
    const when = `${d.getUTCDate()} ${FR_MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
    await alice.fill('#report-form textarea[name=text]', `Le ${when}, un engin explosif improvisé a frappé un convoi sur la route entre Ouagadougou et Dori, au Burkina Faso, tuant cinq soldats. L'attaque a été revendiquée par le JNIM.`);
    await alice.fill('#report-form input[name=source]', 'Radio Oméga');
    await alice.fill('#report-form input[name=published]', day(-2));
    await alice.click('#extract');
    await alice.waitForSelector('#highlighted mark.hl-date');
    const marks = await alice.$$eval('#highlighted mark', (ms) => ms.map((m) => m.textContent));
    assert.ok(marks.some((m) => m.includes('JNIM')), `actor highlighted: ${marks}`);
    assert.ok(marks.some((m) => m.includes(String(d.getUTCFullYear()))), `date highlighted: ${marks}`);
    await shot(alice, '04-report-extraction');
    await alice.click('#file');
    await alice.waitForSelector('#candidates');
    const row = alice.locator('#candidates li.candidate', { hasText: 'Remote explosive' }).first();
    await row.locator('button.confirm').click();
    await alice.waitForSelector('#candidates .decision.confirmed');
    await shot(alice, '05-report-confirmed');
  });

  it('shows the incident\'s reports with grades and the sources\' contradiction', async () => {
    // A second source gives another death toll (filed and confirmed by API).
    const r = await s.api('POST', '/api/v1/reports', {
      source: 'AIB', published: day(-2), reliability: 'B', credibility: 2, marking: { tlp: 'AMBER' },
      claims: { event_date: ambushDate, fatalities: 8, sub_event_type: 'Remote explosive/landmine/IED' },
    });
    await s.api('POST', `/api/v1/reports/${r.report.id}/links`, { incident: ambush.id, verdict: 'confirm' });
    await alice.goto(`${s.base}/#map/${ambush.id}`);
    await alice.waitForSelector('#detail .contradiction');
    const text = await alice.textContent('#detail');
    assert.match(text, /Radio Oméga/);
    assert.match(text, /B2/);
    assert.match(text, /disagree/);
    const versions = await alice.$$eval('#detail .contradiction .value', (vs) => vs.map((v) => v.textContent));
    assert.ok(versions.includes('5') && versions.includes('8'), `both death tolls: ${versions}`);
    await shot(alice, '06-incident-reports-contradiction');
  });

  it('lists kidnap cases, shows a case\'s timeline, and links it from its incident', async () => {
    const rep = (text, published) => s.api('POST', '/api/v1/reports', { source: 'RFI', published, reliability: 'B', credibility: 2, text, marking: { tlp: 'AMBER' } });
    const a = await rep('Two Italian engineers were kidnapped near Dori, Burkina Faso, on Monday by gunmen of the Islamic State Sahel.', day(-20));
    const abduction = await s.api('POST', `/api/v1/reports/${a.report.id}/incident`, { marking: { tlp: 'AMBER' } });
    // An abduction's incident opens its case.
    const c = (await s.api('GET', '/api/v1/cases')).items.find((x) => x.incident === abduction.id);
    assert.ok(c, 'the abduction opened a case');
    const b = await rep('The two Italian engineers kidnapped near Dori last month were released on Friday, the Italian foreign ministry said.', day(-1));
    await s.api('POST', `/api/v1/cases/${c.id}/steps`, { report: b.report.id, kind: 'released' });
    await alice.goto(`${s.base}/#cases`);
    await alice.waitForSelector('#case-list li a');
    assert.equal(await alice.locator('#case-list li a').count(), 1);
    // From the abduction's incident to its case.
    await alice.goto(`${s.base}/#map/${abduction.id}`);
    await alice.waitForSelector('#detail a.case-link');
    await alice.click('#detail a.case-link');
    await alice.waitForSelector('#timeline li');
    assert.equal(await alice.locator('#timeline li').count(), 2);
    assert.match(await alice.textContent('#case-detail'), /released/);
    assert.match(await alice.textContent('#case-detail'), /Italian|IT/);
    await shot(alice, '07-case-timeline');
  });

  it('plans a route: fastest and least exposed on the map, with the risk profile', async () => {
    await alice.goto(`${s.base}/#routes`);
    // The start by a click on the map, at Ouagadougou.
    await alice.waitForSelector('#pick-from');
    await alice.evaluate(() => new Promise((r) => {
      const map = window.sahelwatchMap;
      map.once('idle', r);
      map.jumpTo({ center: [-1.0, 13.2], zoom: 7 });
    }));
    await alice.click('#pick-from');
    const box = await alice.locator('#map canvas').boundingBox();
    const pt = await alice.evaluate(() => window.sahelwatchMap.project([-1.5197, 12.3714]));
    await alice.mouse.click(box.x + pt.x, box.y + pt.y);
    const picked = await alice.inputValue('#route-form input[name=from]');
    assert.match(picked, /^12\.3\d+,-1\.5\d+$/, `the clicked point: ${picked}`);
    await alice.fill('#route-form input[name=to]', 'Dori');
    await alice.click('#route-form button[type=submit]');
    await alice.waitForSelector('#routes li');
    const labels = await alice.$$eval('#routes li', (ls) => ls.map((l) => l.dataset.label));
    assert.ok(labels.length >= 2, `at least two routes: ${labels}`);
    assert.ok(labels.includes('fastest') && labels.includes('safest'), `fastest and least exposed: ${labels}`);
    await alice.waitForSelector('#profile-chart');
    assert.ok(await alice.locator('#profile-chart rect').count() >= 1, 'the profile has stretches');
    const drawn = await alice.evaluate(() => window.sahelwatchMap.getSource('plan-routes').serialize().data.features.length);
    assert.equal(drawn, labels.length);
    await shot(alice, '08-route-fastest');
    await alice.click('#routes li[data-label=safest]');
    await alice.waitForSelector('#routes li.selected[data-label=safest]');
    await shot(alice, '09-route-safest');
  });

  it('follows a simulated convoy, shows its alert live, and acknowledges it', async () => {
    await alice.goto(`${s.base}/#convoys`);
    await alice.waitForSelector('body[data-alert-stream=open]');
    const sim = spawn(BIN, ['simulate', '--api', s.base, '--token', s.token, '--osmand', s.osmand, '--saved-route', String(routeId),
      '--vehicles', '2', '--speed', '60', '--time-scale', '120', '--interval', '20', '--event', 'sos@3', '--duration', '60', '--name', 'E2E convoy'],
    { stdio: 'ignore' });
    try {
      await alice.waitForSelector('#alerts li.alert[data-kind=sos]', { timeout: 30000 });
      await until('vehicles on the map', async () => Number(await alice.evaluate(() => document.body.dataset.vehicles || 0)) >= 1);
      await shot(alice, '10-convoy-alert');
      const row = alice.locator('#alerts li.alert[data-kind=sos]').first();
      await row.locator('input.note').fill('Called the escort; vehicle safe.');
      await row.locator('button.ack-btn').click();
      await alice.waitForSelector('#alerts li.alert[data-kind=sos] .ack');
      assert.match(await alice.textContent('#alerts li.alert[data-kind=sos] .ack'), /alice.*Called the escort/s);
      await shot(alice, '11-alert-acknowledged');
    } finally {
      sim.kill();
    }
    assert.deepEqual(alice.offsite, [], 'no request leaves the server');
    assert.deepEqual(alice.errors, [], 'no script errors');
  });
});

describe('the web interface, as NGO B', () => {
  let bob;
  it('does not show A\'s AMBER incidents on the map, in the counts or in the trend', async () => {
    bob = await signedIn(browser, s, 'bob');
    await bob.waitForSelector('#count');
    const mine = await s.api('GET', '/api/v1/incidents/counts');
    const ids = await mapIds(bob);
    assert.ok(!ids.includes(ambush.id), 'the AMBER incident is not on B\'s map');
    assert.ok(ids.length < mine.count, `B's map has fewer incidents (${ids.length}) than A may see (${mine.count})`);
    // Text filter on the marker: nothing for B, in the map, the count and the trend.
    await filterText(bob, 'e2e marker');
    await until('no incident', async () => (await mapIds(bob)).length === 0);
    await statsDone(bob);
    assert.equal((await bob.textContent('#count')).trim(), '0');
    assert.equal(await bob.locator('#trend-chart').count(), 0, 'no trend for nothing');
    await shot(bob, '12-ngo-b-filtered');
    // Everything B's map and chart hold adds up to B's own count, not A's.
    await bob.click('#filters button.secondary');
    await until('the reset map', async () => (await mapIds(bob)).length > 0);
    await bob.evaluate(() => { document.body.dataset.stats = 'stale'; window.sahelwatchMap.jumpTo({ center: [0, 15], zoom: 1 }); });
    await statsDone(bob);
    await bob.waitForSelector('#trend-chart');
    const shown = Number((await bob.textContent('#count')).replace(/\D/g, ''));
    const bars = await bob.$$eval('#trend-chart rect.bar title', (ts) => ts.reduce((n, t) => n + Number(t.textContent.split(': ')[1].split(' ')[0]), 0));
    assert.equal(bars, shown);
    const bobAll = await fetch(`${s.base}/api/v1/incidents/counts`, { headers: { Cookie: (await bob.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } }).then((r) => r.json());
    assert.ok(shown <= bobAll.count);
    assert.ok(bobAll.count < mine.count, `B's total ${bobAll.count} is below A's ${mine.count}`);
    await shot(bob, '13-ngo-b-map');
  });

  it('cannot open A\'s incident, and gets none of A\'s alerts', async () => {
    await bob.goto(`${s.base}/#map/${ambush.id}`);
    await bob.waitForSelector('#detail .error');
    assert.doesNotMatch(await bob.textContent('#detail'), /AMBER|Remote explosive|Ouagadougou–Dori/);
    await bob.goto(`${s.base}/#convoys`);
    await bob.waitForSelector('#alerts');
    await bob.waitForSelector('body[data-alert-stream=open]');
    await bob.waitForSelector('#convoy-list p.muted'); // the list has been filled: empty
    assert.equal(await bob.locator('#alerts li.alert').count(), 0);
    assert.equal(await bob.locator('#convoy-list li.convoy').count(), 0);
    await shot(bob, '14-ngo-b-convoys');
    assert.deepEqual(bob.offsite, []);
    // The only failed requests: A's incident, answered 404.
    assert.deepEqual(bob.errors.filter((e) => !(e.includes('404') && e.includes(ambush.id))), []);
  });
});

describe('languages and screen sizes', () => {
  it('has every interface text in English and French', () => {
    const en = Object.keys(DICTS.en).sort();
    const fr = Object.keys(DICTS.fr).sort();
    assert.deepEqual(fr, en);
    const dir = join(ROOT, 'crates/sahelwatch-server/web/app');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.js'))) {
      const src = readFileSync(join(dir, f), 'utf8');
      for (const m of src.matchAll(/\bt\('([a-z0-9_.]+)'/g)) {
        if (m[1].endsWith('.')) continue; // a prefix completed at run time: below
        assert.ok(DICTS.en[m[1]] !== undefined, `${f}: ${m[1]} has no text`);
      }
    }
    // Keys completed at run time, with every value the server can send.
    const dynamic = {
      layer: ['clusters', 'heat', 'hotspots'], route: ['from', 'to'], period: ['year', 'quarter', 'month'],
      change: ['up', 'down', 'same', 'new', 'none'], role: ['admin', 'analyst', 'operator', 'viewer'],
      'case.status': ['held', 'released', 'rescued', 'escaped', 'killed'],
      'case.step': ['abducted', 'claimed', 'proof_of_life', 'negotiation', 'released', 'rescued', 'escaped', 'killed'],
      'rep.decision': ['confirmed', 'rejected'], sev: ['info', 'warning', 'critical'],
      'rep.kind': ['date', 'actor', 'place', 'segment', 'event', 'deaths', 'hostages', 'step', 'ransom'],
      rel: ['A', 'B', 'C', 'D', 'E', 'F'], cred: ['1', '2', '3', '4', '5', '6'],
    };
    for (const [prefix, values] of Object.entries(dynamic)) {
      for (const v of values) assert.ok(DICTS.en[`${prefix}.${v}`] !== undefined, `${prefix}.${v} has no text`);
    }
  });

  it('works in French on a tablet', async () => {
    const page = await signedIn(browser, s, 'alice', { locale: 'fr-FR', viewport: { width: 820, height: 1180 } });
    await page.waitForSelector('#count');
    assert.equal(await page.textContent('#tabs a[data-view=routes]'), 'Itinéraires');
    assert.match(await page.textContent('#side'), /Appliquer/);
    const mapBox = await page.locator('#map').boundingBox();
    assert.ok(mapBox.width >= 800 && mapBox.height > 400, `the map fills the width on a tablet (${JSON.stringify(mapBox)})`);
    // The live alerts open although alerts exist already (resumed after the newest).
    await page.waitForSelector('body[data-alert-stream=open]');
    assert.match(await page.textContent('#alert-badge'), /à acquitter|^\s*$/);
    await shot(page, '15-tablet-fr');
    assert.deepEqual(page.errors, []);
    assert.deepEqual(page.offsite, []);
    await page.context().close();
  });
});
