// audit.js - what people did (GET /v1/audit?hours=N): logins, bags, chutes,
// plans, dispatches, users, newest first.

import * as api from './api.js';
import { h, fill } from './dom.js';
import { t } from './i18n.js';
import { time } from './format.js';
import { load, table } from './widgets.js';

let hours = 24; // kept across visits

export function mount(root) {
  const body = h('div', { 'data-testid': 'audit' });
  const spans = h('span', { class: 'spans' });
  fill(root, h('div', { class: 'title-row' }, h('h1', {}, t('nav.audit')), spans), body);
  const reload = () => {
    fill(spans, [1, 8, 24, 72].map((n) => h('button', {
      class: n === hours ? 'on' : '', onclick: () => { hours = n; reload(); },
    }, t('audit.hours', { n }))));
    load(body, () => api.get(`/v1/audit?hours=${hours}`), (d) => table([
      { head: t('col.at'), cell: (e) => time(e.at) },
      { head: t('col.user'), cell: (e) => e.user || '' },
      { head: t('col.what'), cell: (e) => e.text },
    ], [...(d.events || [])].sort((a, b) => b.at - a.at)));
  };
  reload();
}
