// chute.js - one chute's side panel: what GET /v1/chutes/ID says (recent
// parcels, closed bags, history), its live load from the line event, and
// the operator's actions on it (close bag, disable, enable), each confirmed
// first and its result or refusal shown under the buttons.

import * as api from './api.js';
import { h, fill } from './dom.js';
import { t } from './i18n.js';
import { may } from './session.js';
import { live } from './store.js';
import { time, kg } from './format.js';
import { act, failure, failureText, outcome, table } from './widgets.js';

// A closed bag's label to print (PDF, 100 x 150 mm), in a tab of its own.
export function labelLink(bagId) {
  return h('a', { href: `/v1/bags/${encodeURIComponent(bagId)}/label`, target: '_blank', rel: 'noopener',
    'data-testid': 'bag-label-link' }, t('chute.label'));
}

// Opens the panel for chute id in el; returns {update(line), close()}.
export function openChutePanel(el, id, onClose) {
  const head = h('div', { class: 'panel-head' });
  const now = h('div', { class: 'panel-now', 'data-testid': 'chute-now' });
  const out = h('p', { class: 'outcome', 'data-testid': 'action-result', 'aria-live': 'polite' });
  const details = h('div', { class: 'panel-details' });
  const allowed = may('operator');
  const weight = h('input', {
    type: 'number', min: 0, step: 0.1, inputmode: 'decimal', placeholder: t('chute.weight_kg'),
    'data-testid': 'bag-weight', disabled: !allowed,
  });
  const button = (key, testid, fn) => h('button', {
    class: 'action', 'data-testid': testid, disabled: !allowed,
    title: allowed ? null : t('error.role_operator'), onclick: fn,
  }, t(key));
  const path = `/v1/chutes/${api.seg(id)}`;

  const closeBag = async () => {
    const body = weight.value ? { weight_g: Math.round(Number(weight.value) * 1000) } : {};
    const a = await act(t('chute.confirm_close', { id }), out, () => api.post(`${path}/close-bag`, body),
      (r) => [t('chute.bag_closed', { bag: r.bag_id, parcels: r.parcels, weight: kg(r.weight_g) }), ' ',
        labelLink(r.bag_id)]);
    if (a) { weight.value = ''; reload(); }
  };
  const setEnabled = (on) => async () => {
    const a = await act(t(on ? 'chute.confirm_enable' : 'chute.confirm_disable', { id }), out,
      () => api.post(`${path}/${on ? 'enable' : 'disable'}`, {}),
      (r) => t('chute.now_state', { id, state: t(`chute_state.${r.chute ? r.chute.state : '?'}`) }));
    if (a) reload();
  };

  const close = () => { el.hidden = true; fill(el); onClose(); };
  fill(el, h('button', { class: 'panel-close', 'data-testid': 'chute-panel-close', onclick: close, 'aria-label': t('close') }, '✕'),
    head, now,
    h('div', { class: 'actions' },
      h('label', { class: 'weight' }, weight),
      button('chute.close_bag', 'close-bag', closeBag),
      button('chute.disable', 'disable-chute', setEnabled(false)),
      button('chute.enable', 'enable-chute', setEnabled(true))),
    allowed ? null : h('p', { class: 'calm' }, t('error.role_operator')),
    out, details);
  el.hidden = false;
  el.dataset.chute = id;

  function showNow(c) {
    if (!c) return;
    fill(head, h('h2', {}, c.id, ' ', h('span', { class: `pill state-${c.state}` }, t(`chute_state.${c.state}`))),
      h('p', {}, c.description || ''),
      h('p', {}, c.special ? t(`special.${c.special}`) : [c.route || t('line.no_route'), ' ', h('small', {}, c.route_description || '')]));
    fill(now, t('chute.load'), ': ', h('strong', { 'data-testid': 'chute-load' }, `${c.load} / ${c.capacity}`));
  }

  async function reload() {
    let d;
    try {
      d = await api.get(path);
    } catch (e) {
      fill(details, failure(e));
      return;
    }
    if (el.dataset.chute !== id) return;
    showNow(d.chute);
    fill(details,
      h('h3', {}, t('chute.recent')),
      table([
        // A parcel nothing read has no code: on the line it is its tracking number.
        { head: t('col.code'), cell: (r) => (r.code
          ? h('a', { href: `#/parcels/${encodeURIComponent(r.code)}` }, r.code)
          : r.tracking ? h('a', { href: `#/parcels/${r.tracking}`, 'data-testid': 'recent-tracking' }, t('chute.tracking', { n: r.tracking })) : '–') },
        { head: t('col.at'), cell: (r) => time(r.at) },
        { head: t('col.reason'), cell: (r) => r.reason || '' },
      ], d.recent),
      h('h3', {}, t('chute.bags')),
      table([
        { head: t('col.bag'), cell: (r) => [r.bag_id, ' ', labelLink(r.bag_id), ' ', h('button', {
          class: 'action small', 'data-testid': 'bag-print', disabled: !allowed,
          onclick: async () => {
            try {
              const a = await api.post(`/v1/bags/${api.seg(r.bag_id)}/print`, {});
              outcome(out, true, t('chute.printed', { bag: a.bag_id, printer: a.printer }));
            } catch (e) {
              outcome(out, false, failureText(e));
            }
          },
        }, t('chute.print'))] },
        { head: t('col.closed'), cell: (r) => time(r.closed_at) },
        { head: t('col.parcels'), cell: (r) => r.parcels },
        { head: t('col.weight'), cell: (r) => kg(r.weight_g) },
        { head: t('col.by'), cell: (r) => r.closed_by || '' },
      ], d.bags),
      h('h3', {}, t('chute.history')),
      table([
        { head: t('col.at'), cell: (r) => time(r.at) },
        { head: t('col.user'), cell: (r) => r.user || '' },
        { head: t('col.what'), cell: (r) => r.text },
      ], d.history));
  }

  const fromLine = (line) => (line && line.chutes ? line.chutes.find((c) => c.id === id) : null);
  showNow(fromLine(live.line));
  reload();
  return {
    update(line) { showNow(fromLine(line)); },
    close,
  };
}
