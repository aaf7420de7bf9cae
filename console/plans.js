// plans.js - the stored sort plans (GET /v1/plans); a supervisor activates
// one (POST /v1/plans/N/activate), and a running wcsd switches at once.

import * as api from './api.js';
import { h, fill } from './dom.js';
import { t } from './i18n.js';
import { may } from './session.js';
import { time } from './format.js';
import { act, load, table } from './widgets.js';

export function mount(root) {
  const out = h('p', { class: 'outcome', 'data-testid': 'action-result', 'aria-live': 'polite' });
  const body = h('div', { 'data-testid': 'plans' });
  fill(root, h('h1', {}, t('nav.plans')), out, body);
  const allowed = may('supervisor');
  const reload = () => load(body, () => api.get('/v1/plans'), (d) => table([
    { head: t('col.version'), cell: (p) => `v${p.version}` },
    { head: t('col.source'), cell: (p) => p.source || '' },
    { head: t('col.loaded'), cell: (p) => time(p.loaded_at) },
    { head: t('col.state'), cell: (p) => (p.active ? h('span', { class: 'pill ok' }, t('plans.active')) : '') },
    { head: '', cell: (p) => (p.active ? '' : h('button', {
      class: 'action', disabled: !allowed, title: allowed ? null : t('error.role_supervisor'),
      'data-testid': `activate-${p.version}`,
      onclick: async () => {
        const a = await act(t('plans.confirm', { v: p.version }), out,
          () => api.post(`/v1/plans/${p.version}/activate`, {}), (r) => t('plans.activated', { v: r.active ?? p.version }));
        if (a) reload();
      },
    }, t('plans.activate'))) },
  ], [...(d.plans || [])].sort((a, b) => b.version - a.version)));
  reload();
}
