// Start-up: sign-in, the views (one per tab), the language switch.
import { get, post, setCsrf, ApiError } from './api.js';
import { t, lang, setLang, translatePage } from './i18n.js';
import { createMap } from './map.js';
import * as incidents from './incidents.js';
import * as reports from './reports.js';
import * as cases from './cases.js';
import * as planner from './planner.js';
import * as convoys from './convoys.js';

const views = { map: incidents, reports, cases, routes: planner, convoys };
const ctx = { me: null, map: null, side: null, status, go };
let current = null;

function status(msg, kind = 'info') {
  const el = document.getElementById('status');
  el.textContent = msg || '';
  el.className = `status ${kind}`;
  el.hidden = !msg;
}

function go(name, arg) {
  if (!views[name]) name = 'map';
  if (current) current.view.leave(ctx);
  for (const a of document.querySelectorAll('#tabs a')) {
    a.classList.toggle('active', a.dataset.view === name);
  }
  ctx.side.replaceChildren();
  status('');
  current = { name, view: views[name] };
  document.body.dataset.view = name;
  current.view.enter(ctx, arg);
}

function route() {
  const [name, arg] = location.hash.replace(/^#/, '').split('/');
  let decoded;
  try { decoded = arg ? decodeURIComponent(arg) : undefined; } catch { decoded = undefined; }
  go(name || 'map', decoded);
}

async function start(me) {
  ctx.me = me;
  setCsrf(me.csrf_token);
  document.getElementById('login').hidden = true;
  document.getElementById('shell').hidden = false;
  document.getElementById('who').textContent =
    `${me.display_name} · ${me.organisation.name} · ${t('role.' + me.role)}`;
  ctx.side = document.getElementById('side');
  ctx.map = await createMap(document.getElementById('map'));
  for (const v of Object.values(views)) v.init?.(ctx);
  window.addEventListener('hashchange', route);
  route();
}

function showLogin() {
  document.getElementById('shell').hidden = true;
  document.getElementById('login').hidden = false;
  document.getElementById('username').focus();
}

async function boot() {
  setLang(lang());
  translatePage();
  for (const b of document.querySelectorAll('[data-lang]')) {
    b.addEventListener('click', () => { setLang(b.dataset.lang); translatePage(); });
  }
  document.getElementById('lang').addEventListener('click', () => {
    setLang(lang() === 'fr' ? 'en' : 'fr');
    translatePage();
    if (ctx.me) {
      document.getElementById('who').textContent =
        `${ctx.me.display_name} · ${ctx.me.organisation.name} · ${t('role.' + ctx.me.role)}`;
      route();
    }
  });
  document.getElementById('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const err = document.getElementById('login-error');
    err.textContent = '';
    try {
      await post('/api/v1/auth/login', {
        username: document.getElementById('username').value,
        password: document.getElementById('password').value,
      });
      document.getElementById('password').value = '';
      await start(await get('/api/v1/me'));
    } catch (x) {
      err.textContent = x instanceof ApiError && x.status === 401 ? t('login.failed') : x.message;
    }
  });
  document.getElementById('logout').addEventListener('click', async () => {
    try { await post('/api/v1/auth/logout'); } finally { location.hash = ''; location.reload(); }
  });
  try {
    await start(await get('/api/v1/me'));
  } catch (x) {
    if (x instanceof ApiError && x.status === 401) showLogin();
    else { showLogin(); document.getElementById('login-error').textContent = x.message; }
  }
}

boot();
