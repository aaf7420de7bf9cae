// bags.js - closed bags (GET /v1/bags) and dispatches (GET /v1/dispatches).
// A supervisor opens a dispatch for a route, puts closed bags of that route
// into it and closes it (its manifest then goes to the customs broker).

import * as api from './api.js';
import { labelLink } from './chute.js';
import { h, fill } from './dom.js';
import { t } from './i18n.js';
import { may } from './session.js';
import { live } from './store.js';
import { time, kg, num } from './format.js';
import { act, failure, outcome, failureText, section, table } from './widgets.js';

const TRANSPORTS = ['air', 'rail', 'road'];

// '2026-12-08T18:00' from a datetime-local input -> ISO 8601 with this browser's offset.
function isoLocal(value) {
  const d = new Date(value);
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return `${value.length === 16 ? `${value}:00` : value}${sign}${pad(off / 60)}:${pad(off % 60)}`;
}

// The broker's answer to a closed dispatch's manifest: {ref, error, unknown, at}.
function manifest(m) {
  if (!m || (!m.ref && !m.error && !m.at)) return null;
  return [' · ', t('bags.manifest'), ' ',
    m.error ? h('span', { class: 'error' }, m.error) : m.ref || t('bags.manifest_waiting'),
    m.unknown ? ` (${t('bags.manifest_unknown', { n: m.unknown })})` : '', m.at ? ` ${time(m.at)}` : ''];
}

export function mount(root) {
  const out = h('p', { class: 'outcome', 'data-testid': 'action-result', 'aria-live': 'polite' });
  const dispatches = h('div', { 'data-testid': 'dispatches' });
  const bags = h('div', { 'data-testid': 'bags' });
  const allowed = may('supervisor');
  fill(root, h('h1', {}, t('nav.bags')), out,
    section(t('bags.dispatches'), allowed ? openForm() : null, dispatches),
    section(t('bags.bags'), bags));

  let bagList = [];
  async function reload() {
    let b = null, d = null;
    try { b = await api.get('/v1/bags'); bagList = b.bags || []; } catch (e) { fill(bags, failure(e)); }
    try { d = await api.get('/v1/dispatches'); } catch (e) { fill(dispatches, failure(e)); }
    if (b) fill(bags, table([
      { head: t('col.bag'), cell: (r) => [r.bag_id, ' ', labelLink(r.bag_id)] },
      { head: t('col.chute'), cell: (r) => r.chute },
      { head: t('col.route'), cell: (r) => r.route || '' },
      { head: t('col.closed'), cell: (r) => time(r.closed_at) },
      { head: t('col.parcels'), cell: (r) => num(r.parcels), class: 'n' },
      { head: t('col.weight'), cell: (r) => kg(r.weight_g), class: 'n' },
      { head: t('col.dispatch'), cell: (r) => r.dispatch || '' },
    ], bagList, (r) => ({ 'data-testid': 'bag-row', 'data-bag': r.bag_id })));
    if (d) fill(dispatches, (d.dispatches || []).length === 0
      ? h('p', { class: 'calm' }, t('none'))
      : d.dispatches.map(dispatchCard));
  }

  function dispatchCard(x) {
    const isOpen = x.state === 'open';
    const free = bagList.filter((b) => !b.dispatch && b.route === x.route);
    const picks = free.map((b) => h('input', { type: 'checkbox', value: b.bag_id }));
    return h('article', { class: 'dispatch', 'data-testid': 'dispatch', 'data-id': x.id, 'data-state': x.state },
      h('div', { class: 'alarm-head' }, h('strong', {}, x.id), h('span', {}, x.route),
        h('span', {}, t(`transport.${x.transport}`, {}, x.transport), x.crossing ? ` · ${x.crossing}` : '',
          x.carrier ? ` · ${x.carrier}` : ''),
        h('span', {}, t('bags.departure'), ' ', time(x.departure)),
        h('span', { class: `pill ${isOpen ? 'warn' : 'ok'}` }, t(`dispatch_state.${x.state}`, {}, x.state))),
      h('p', {}, t('bags.summary', { bags: num(x.bags), parcels: num(x.parcels), weight: kg(x.weight_g) }),
        manifest(x.manifest)),
      allowed && isOpen ? h('div', { class: 'add-bags' },
        free.length ? h('div', { class: 'picks' }, free.map((b, i) => h('label', { class: 'pick' }, picks[i], ` ${b.bag_id} (${b.chute}, ${b.parcels})`)))
          : h('p', { class: 'calm' }, t('bags.no_free')),
        h('div', { class: 'buttons' },
          free.length ? h('button', {
            class: 'action', 'data-testid': 'dispatch-add', onclick: async () => {
              const chosen = picks.filter((p) => p.checked).map((p) => p.value);
              if (chosen.length === 0) return;
              if (await act(t('bags.confirm_add', { n: chosen.length, id: x.id }), out,
                () => api.post(`/v1/dispatches/${api.seg(x.id)}/bags`, { bags: chosen }), () => t('bags.added'))) reload();
            },
          }, t('bags.add')) : null,
          h('button', {
            class: 'action', 'data-testid': 'dispatch-close', onclick: async () => {
              if (await act(t('bags.confirm_close', { id: x.id }), out,
                () => api.post(`/v1/dispatches/${api.seg(x.id)}/close`, {}), () => t('bags.closed'))) reload();
            },
          }, t('bags.close')))) : null);
  }

  function openForm() {
    // The plan's routes as suggestions (the line event names each chute's).
    const routes = [...new Set((live.line ? live.line.chutes : []).map((c) => c.route).filter(Boolean))].sort();
    const routeIn = h('input', { name: 'route', required: true, list: 'dispatch-routes', autocomplete: 'off' });
    const suggestions = h('datalist', { id: 'dispatch-routes' }, routes.map((r) => h('option', { value: r })));
    const transport = h('select', { name: 'transport' }, TRANSPORTS.map((x) => h('option', { value: x }, t(`transport.${x}`))));
    const departure = h('input', { type: 'datetime-local', name: 'departure', required: true });
    const crossing = h('input', { name: 'crossing', placeholder: t('bags.crossing_hint') });
    const carrier = h('input', { name: 'carrier', maxlength: '63', placeholder: t('bags.crossing_hint') });
    const form = h('form', { class: 'inline-form', 'data-testid': 'dispatch-form' },
      h('label', {}, t('col.route'), routeIn, suggestions), h('label', {}, t('bags.transport'), transport),
      h('label', {}, t('bags.departure'), departure), h('label', {}, t('bags.crossing'), crossing),
      h('label', {}, t('bags.carrier'), carrier),
      h('button', { type: 'submit', class: 'action' }, t('bags.open')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { route: routeIn.value.trim(), transport: transport.value, departure: isoLocal(departure.value) };
      if (crossing.value.trim()) body.crossing = crossing.value.trim();
      if (carrier.value.trim()) body.carrier = carrier.value.trim();
      try {
        const r = await api.post('/v1/dispatches', body);
        outcome(out, true, t('bags.opened', { id: r.id }));
        reload();
      } catch (e) {
        outcome(out, false, failureText(e));
      }
    });
    return form;
  }

  reload();
}
