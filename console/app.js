// app.js - starts the console: asks wcsd who is logged in (GET /v1/session),
// shows the login form or the navigation bar and one screen, routes between
// screens by the address's #fragment, and re-renders on a language switch.

import * as api from './api.js';
import * as stream from './stream.js';
import { h, fill } from './dom.js';
import { t, setLanguage, language } from './i18n.js';
import { session, setSession, may } from './session.js';
import { live, listen, put, unackedOpen } from './store.js';
import { showLogin } from './login.js';
import * as line from './line.js';
import * as alarms from './alarms.js';
import * as figures from './figures.js';
import * as parcel from './parcel.js';
import * as videocoding from './videocoding.js';
import * as customs from './customs.js';
import * as bags from './bags.js';
import * as plans from './plans.js';
import * as audit from './audit.js';
import * as users from './users.js';

// The screens in the navigation bar's order, and the role each needs to be listed.
const SCREENS = [
  { id: 'line', mod: line, need: 'viewer' },
  { id: 'alarms', mod: alarms, need: 'viewer' },
  { id: 'figures', mod: figures, need: 'viewer' },
  { id: 'parcels', mod: parcel, need: 'viewer' },
  { id: 'videocoding', mod: videocoding, need: 'viewer' },
  { id: 'customs', mod: customs, need: 'viewer' },
  { id: 'bags', mod: bags, need: 'viewer' },
  { id: 'plans', mod: plans, need: 'viewer' },
  { id: 'audit', mod: audit, need: 'viewer' },
  { id: 'users', mod: users, need: 'admin' },
];

const top = document.getElementById('top');
const main = document.getElementById('screen');
let current = null; // {id, arg, view}
let loggedIn = false;

// '#/parcels/RB011606048CN' -> {id: 'parcels', arg: 'RB011606048CN'}
function route() {
  const [, id = 'line', ...rest] = location.hash.split('/');
  const known = SCREENS.find((s) => s.id === id && may(s.need));
  return { id: known ? id : 'line', arg: decodeURIComponent(rest.join('/')) };
}

function mountScreen() {
  if (!loggedIn) return;
  const r = route();
  if (current && current.view && current.view.unmount) current.view.unmount();
  const screen = SCREENS.find((s) => s.id === r.id);
  fill(main);
  main.className = `screen-${r.id}`;
  current = { ...r, view: screen.mod.mount(main, r.arg) || {} };
  renderNav();
}

function renderNav() {
  const badge = unackedOpen();
  const active = current ? current.id : '';
  const langButton = (code, label) =>
    h('button', {
      class: code === language() ? 'lang on' : 'lang',
      'data-testid': `lang-${code}`,
      'aria-pressed': code === language() ? 'true' : 'false',
      onclick: () => switchLanguage(code),
    }, label);
  fill(top,
    h('nav', { class: 'tabs' },
      SCREENS.filter((s) => may(s.need)).map((s) =>
        h('a', {
          href: `#/${s.id}`, class: s.id === active ? 'tab on' : 'tab', 'data-testid': `nav-${s.id}`,
        }, t(`nav.${s.id}`),
        s.id === 'alarms' && badge > 0 ? h('span', { class: 'badge', 'data-testid': 'alarm-badge' }, badge) : null,
        s.id === 'videocoding' && noreadsPending() > 0
          ? h('span', { class: 'badge wait', 'data-testid': 'noread-badge', title: t('videocoding.pending') }, noreadsPending())
          : null))),
    h('div', { class: 'who' },
      h('span', { class: `live ${live.stream}`, title: t(`stream.${live.stream}`), 'data-testid': 'stream-state' },
        t(`stream.${live.stream}`)),
      h('span', { class: 'user', 'data-testid': 'session-user' }, session.user),
      h('span', { class: 'role', 'data-testid': 'session-role' }, t(`role.${session.role}`)),
      h('span', { class: 'langs', 'data-testid': 'lang-switch' }, langButton('en', 'EN'), langButton('zh', '中文')),
      h('button', { class: 'logout', 'data-testid': 'logout', onclick: logout }, t('nav.logout'))));
}

async function switchLanguage(code) {
  if (code === language()) return;
  setLanguage(code);
  session.language = code;
  try {
    await api.post('/v1/session/language', { language: code });
    localStorage.removeItem('wcs-language');
  } catch (e) {
    // Not kept by wcsd (an older one): keep it in this browser instead.
    if (e.status !== 401) localStorage.setItem('wcs-language', code);
  }
  mountScreen();
}

async function logout() {
  try { await api.post('/v1/logout', {}); } catch { /* the session is gone either way */ }
  toLogin();
}

function toLogin() {
  loggedIn = false;
  stream.stop();
  if (current && current.view && current.view.unmount) current.view.unmount();
  current = null;
  top.hidden = true;
  setLanguage(localStorage.getItem('wcs-language') || language());
  showLogin(main, started);
}

// After GET /v1/session or a login: s = {user, role, language, csrf}.
function started(s) {
  setSession(s);
  api.setCsrf(s.csrf);
  setLanguage(localStorage.getItem('wcs-language') || s.language || 'en');
  loggedIn = true;
  top.hidden = false;
  api.get('/v1/alarms').then((a) => { if (!live.alarms) put('alarms', a.alarms || []); }).catch(() => {});
  stream.start(async () => {
    try { await api.get('/v1/session'); return true; } catch (e) {
      if (e.status === 401) { toLogin(); return false; }
      return true;
    }
  });
  mountScreen();
}

// The line's no-reads waiting for a code (the line document's count).
function noreadsPending() {
  return (live.line && live.line.noreads_pending) || 0;
}

let navPending = 0;
listen((kind) => {
  if (!loggedIn) return;
  // The line document comes every second: the tabs change only with the count.
  if (kind === 'alarms' || kind === 'stream' || (kind === 'line' && noreadsPending() !== navPending)) {
    navPending = noreadsPending();
    renderNav();
  }
  if (current && current.view.update) current.view.update(kind);
});

api.whenUnauthorized(() => { if (loggedIn) toLogin(); });
window.addEventListener('hashchange', mountScreen);

(async function boot() {
  try {
    started(await api.get('/v1/session'));
  } catch (e) {
    if (e.status === 401 || e.status === 403) toLogin();
    else fill(main, h('p', { class: 'error', 'data-testid': 'boot-error' }, t('boot.unreachable'), ' ', e.message));
  }
})();
