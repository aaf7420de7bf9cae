// customs.js - the customs problems (GET /v1/customs/problems) grouped by
// kind, each reference a link to that parcel's search.

import * as api from './api.js';
import { h, fill } from './dom.js';
import { t } from './i18n.js';
import { time, text } from './format.js';
import { load, section, table } from './widgets.js';

// A ref that looks like a parcel code links to the parcel search; a dispatch id does not.
const parcelLike = (ref) => /^[A-Z]{2}\d{9}[A-Z]{2}$/.test(ref || '');

export function mount(root) {
  const body = h('div', { 'data-testid': 'customs' });
  fill(root, h('h1', {}, t('nav.customs')), body);
  load(body, () => api.get('/v1/customs/problems'), (d) => {
    const byKind = new Map();
    for (const p of d.problems || []) {
      if (!byKind.has(p.kind)) byKind.set(p.kind, []);
      byKind.get(p.kind).push(p);
    }
    if (byKind.size === 0) return h('p', { class: 'calm' }, t('customs.none'));
    return [...byKind].map(([kind, list]) => section(`${t(`customs.kind.${kind}`, {}, kind)} (${list.length})`,
      table([
        { head: t('col.ref'), cell: (p) => (parcelLike(p.ref)
          ? h('a', { href: `#/parcels/${encodeURIComponent(p.ref)}`, 'data-testid': 'customs-ref' }, p.ref) : p.ref || '') },
        { head: t('col.what'), cell: (p) => p.text || '' },
        { head: t('col.detail'), cell: (p) => text(p.detail) },
        { head: t('col.at'), cell: (p) => time(p.at) },
      ], list, (p) => ({ 'data-kind': kind }))));
  });
}
