// parcel.js - parcel search: GET /v1/parcels/CODE/trace shows the pre-advice
// (Russian names and addresses as they are), customs status and errors, the
// event timeline and why its chute; and the key-in form an operator uses to
// give wcsd a code its scanners could not read (POST /v1/keyin).

import * as api from './api.js';
import { h, fill } from './dom.js';
import { t } from './i18n.js';
import { may } from './session.js';
import { live } from './store.js';
import { time, text } from './format.js';
import { failure, failureText, outcome, section, table } from './widgets.js';
import { group, whyBlock } from './why.js';

export function mount(root, code) {
  const input = h('input', {
    type: 'search', name: 'code', value: code || '', placeholder: t('parcel.placeholder'), autocomplete: 'off',
    autocapitalize: 'characters', spellcheck: 'false', 'data-testid': 'parcel-search',
  });
  const result = h('div', { 'data-testid': 'parcel-result' });
  const search = h('form', { class: 'search' }, input,
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'parcel-search-submit' }, t('parcel.search')));
  search.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const c = input.value.trim();
    if (!c) return;
    const target = `#/parcels/${encodeURIComponent(c)}`;
    if (location.hash === target) show(result, c); else location.hash = target;
  });
  fill(root, h('h1', {}, t('nav.parcels')), search, result, keyIn());
  if (code) show(result, code); else input.focus();
}

async function show(root, code) {
  fill(root, h('p', { class: 'calm' }, t('loading')));
  let tr;
  try {
    tr = await api.get(`/v1/parcels/${api.seg(code)}/trace`);
  } catch (e) {
    fill(root, e.status === 404
      ? h('p', { class: 'calm', 'data-testid': 'parcel-unknown' }, t('parcel.unknown', { code }), ' ', t('parcel.unknown_hint'))
      : failure(e));
    return;
  }
  fill(root, h('div', { class: 'trace', 'data-testid': 'parcel-trace' },
    h('h2', {}, tr.code || code),
    decided(tr.events || [], tr.then),
    whyBlock(tr.why),
    section(t('parcel.preadvice'), tr.parcel ? facts(tr.parcel) : h('p', { class: 'calm' }, t('parcel.no_preadvice'))),
    section(t('parcel.customs'), customs(tr.customs)),
    section(t('parcel.events'), table([
      { head: t('col.at'), cell: (e) => time(e.at) },
      { head: t('col.kind'), cell: (e) => e.kind },
      { head: t('col.location'), cell: (e) => e.location || '' },
      { head: t('col.chute'), cell: (e) => e.chute || '' },
      { head: t('col.reason'), cell: (e) => e.reason || '' },
      { head: t('col.source'), cell: (e) => e.source || '' },
      { head: t('col.detail'), cell: (e) => text(e.detail) },
    ], tr.events || [], (e) => ({ 'data-testid': 'trace-event', 'data-kind': e.kind })))));
}

// Where the parcel was sent, each time it came past a scan point, and the
// reason in words: the record (the "why" below is where it would go now).
// then: the last decision's route group as it was then (wcsd rebuilds it
// from the chute states the PLC and operators recorded).
function decided(events, then) {
  const decisions = events.filter((e) => e.kind === 'decision');
  if (decisions.length === 0) return null;
  return h('section', { class: 'card', 'data-testid': 'decided' }, h('h2', {}, t('decided.title')),
    h('ul', { class: 'decided' }, decisions.map((e) => h('li', { 'data-testid': 'decided-item', 'data-reason': e.reason || '' },
      h('strong', {}, time(e.at)), ' ', e.location || '', ' → ', h('strong', {}, e.chute || '–'), ' · ',
      h('span', { class: e.reason === 'OK______' ? '' : 'warn' }, t(`reason.${e.reason}`, {}, e.reason || '')),
      e.detail ? h('small', {}, ' · ', text(e.detail)) : null))),
    then && then.group ? h('div', { 'data-testid': 'decided-then' },
      group(t('decided.group', { route: then.route, plan: then.plan_version, line: then.rule_line }), then.group, 'then-chute'),
      then.matched_group ? group(t('decided.matched_group'), then.matched_group, 'then-matched') : null) : null);
}

// Every field of the pre-advice, in the order wcsd gives them.
function facts(p) {
  return h('dl', { class: 'facts wide', 'data-testid': 'preadvice' }, Object.entries(p).map(([k, v]) => [
    h('dt', {}, t(`field.${k}`, {}, k)), h('dd', {}, text(v))]));
}

function customs(c) {
  if (!c) return h('p', { class: 'calm' }, t('parcel.no_customs'));
  return [
    h('p', {}, t('parcel.customs_status'), ': ', h('strong', { 'data-testid': 'customs-status' }, c.status || '–')),
    table([
      { head: t('col.field'), cell: (e) => e.field || '' },
      { head: t('col.code'), cell: (e) => e.code || '' },
      { head: t('col.message'), cell: (e) => e.message || '' },
    ], c.errors || []),
  ];
}

// The key-in form: a location of the line (its scan points) and a code.
function keyIn() {
  const allowed = may('operator');
  const locations = live.line
    ? [...new Set([...(live.line.plcs || []).flatMap((p) => p.locations || []),
      ...(live.line.scanners || []).map((s) => s.location)])]
    : [];
  const location = locations.length > 0
    ? h('select', { name: 'location', 'data-testid': 'keyin-location', disabled: !allowed },
      locations.map((l) => h('option', { value: l }, l)))
    : h('input', { name: 'location', value: 'SCAN01', 'data-testid': 'keyin-location', disabled: !allowed });
  const code = h('input', { name: 'code', required: true, autocomplete: 'off', 'data-testid': 'keyin-code', disabled: !allowed });
  const out = h('p', { class: 'outcome', 'data-testid': 'keyin-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'keyin' },
    h('label', {}, t('keyin.location'), location),
    h('label', {}, t('keyin.code'), code),
    h('button', { type: 'submit', class: 'action', disabled: !allowed, 'data-testid': 'keyin-submit' }, t('keyin.submit')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const c = code.value.trim();
    if (!c) return;
    try {
      await api.post('/v1/keyin', { location: location.value, code: c });
      outcome(out, true, t('keyin.done', { code: c, location: location.value }));
      code.value = '';
    } catch (e) {
      outcome(out, false, failureText(e));
    }
  });
  return section(t('keyin.title'), allowed ? null : h('p', { class: 'calm' }, t('error.role_operator')), form, out);
}
