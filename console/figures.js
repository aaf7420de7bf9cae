// figures.js - the shift's figures from the stream's `figures` event (every
// 5 s, from wcsd's memory): sorted and read rate per minute, rejects by
// reason, recirculations, decision latency, the event writer, the database
// and customs, and parcels per route.

import { h, fill } from './dom.js';
import { t } from './i18n.js';
import { live } from './store.js';
import { num, percent } from './format.js';
import { lineChart, barChart } from './charts.js';
import { section, table } from './widgets.js';

let span = 60; // minutes shown; kept across visits

export function mount(root) {
  const body = h('div', { class: 'figures', 'data-testid': 'figures' });
  const spans = h('span', { class: 'spans' });
  fill(root, h('div', { class: 'title-row' }, h('h1', {}, t('nav.figures')), spans), body);

  function renderSpans() {
    fill(spans, [60, 240].map((m) => h('button', {
      class: m === span ? 'on' : '', onclick: () => { span = m; renderSpans(); render(); },
    }, t(m === 60 ? 'fig.last_hour' : 'fig.last_4h'))));
  }

  function render() {
    const f = live.figures;
    if (!f) {
      fill(body, h('p', { class: 'calm' }, live.stream === 'down' ? t('line.no_stream') : t('loading')));
      return;
    }
    const minutes = (f.minutes || []).slice(-span);
    const times = minutes.map((m) => m.t);
    const reasons = [...new Set(minutes.flatMap((m) => Object.keys(m.rejects || {})))].sort();
    const lat = f.latency_us || {};
    const ev = f.events || {};
    const empty = t('fig.no_minutes');
    fill(body,
      section(t('fig.sorted'), lineChart(times, [{ name: t('fig.sorted'), values: minutes.map((m) => m.sorted) }], { empty })),
      section(t('fig.read_rate'), lineChart(times, [{
        name: t('fig.read_rate'),
        values: minutes.map((m) => (m.sorted > 0 ? Math.max(0, (m.sorted - (m.noread || 0)) / m.sorted) : null)),
      }], { max: 1, fmt: (v) => `${Math.round(v * 100)}%`, empty })),
      section(t('fig.rejects'), barChart(times,
        reasons.map((r) => ({ name: r, values: minutes.map((m) => (m.rejects || {})[r] || 0) })), { empty })),
      section(t('fig.recirculated'), barChart(times,
        [{ name: t('fig.recirculated'), values: minutes.map((m) => m.recirculated || 0), color: '#8e44ad' }], { empty })),
      h('div', { class: 'cards' },
        section(t('fig.latency'), h('dl', { class: 'facts', 'data-testid': 'latency' },
          ['p50', 'p90', 'p99', 'p999'].map((p) => [h('dt', {}, p), h('dd', {}, lat[p] === undefined || lat[p] === null ? '–' : `${Number(lat[p]).toFixed(1)} µs`)]))),
        section(t('fig.events'), h('dl', { class: 'facts' },
          h('dt', {}, t('fig.queued')), h('dd', {}, num(ev.queued)),
          h('dt', {}, t('fig.spooled')), h('dd', { class: ev.spooled > 0 ? 'warn' : '' }, num(ev.spooled)),
          h('dt', {}, t('fig.written')), h('dd', {}, num(ev.written)))),
        section(t('fig.health'), h('dl', { class: 'facts' },
          h('dt', {}, t('line.database')),
          h('dd', { class: f.database ? 'ok' : 'bad' }, f.database ? t('line.up') : t('line.down')),
          h('dt', {}, t('fig.customs_alarms')),
          h('dd', { class: f.customs_alarms > 0 ? 'warn' : 'ok' },
            f.customs_alarms < 0 ? t('fig.unknown') : num(f.customs_alarms))))),
      section(t('fig.routes'), table([
        { head: t('col.route'), cell: (r) => r.route },
        { head: t('col.parcels'), cell: (r) => num(r.parcels), class: 'n' },
        { head: t('fig.share'), cell: (r) => percent(r.parcels / Math.max(1, total(f.routes))), class: 'n' },
      ], [...(f.routes || [])].sort((a, b) => b.parcels - a.parcels))));
  }

  renderSpans();
  render();
  return { update(kind) { if (kind === 'figures' || kind === 'stream') render(); } };
}

const total = (routes) => (routes || []).reduce((s, r) => s + r.parcels, 0);
