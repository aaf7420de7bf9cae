// alarms.js - the alarm list from the stream's `alarms` event: open ones
// first, each with its severity, times, the kind's title and what the
// operator should do (i18n.js), and an Acknowledge button for operators.

import * as api from './api.js';
import { h, fill } from './dom.js';
import { t, alarmText } from './i18n.js';
import { may } from './session.js';
import { live, put } from './store.js';
import { time } from './format.js';
import { failureText } from './widgets.js';

const SEVERITY = { critical: 0, warning: 1, info: 2 };

// Open first, then the more severe, then the newest.
function ordered(alarms) {
  return [...alarms].sort((a, b) =>
    (a.cleared_at ? 1 : 0) - (b.cleared_at ? 1 : 0) ||
    (SEVERITY[a.severity] ?? 3) - (SEVERITY[b.severity] ?? 3) ||
    (b.raised_at || 0) - (a.raised_at || 0));
}

export function mount(root) {
  const list = h('div', { class: 'alarms', 'data-testid': 'alarm-list' });
  const out = h('p', { class: 'outcome', 'data-testid': 'action-result', 'aria-live': 'polite' });
  fill(root, h('h1', {}, t('nav.alarms')), out, list);

  async function ack(a, button) {
    button.disabled = true;
    try {
      const r = await api.post(`/v1/alarms/${api.seg(a.id)}/ack`, {});
      // Shown at once; the stream's next alarms event says the same.
      if (r.alarm && live.alarms) put('alarms', live.alarms.map((x) => (x.id === r.alarm.id ? r.alarm : x)));
      out.className = 'outcome ok';
      fill(out, t('alarm.acked_ok', { title: alarmText(a.kind).title, subject: a.subject || '' }));
    } catch (e) {
      button.disabled = false;
      out.className = 'outcome error';
      fill(out, failureText(e));
    }
  }

  function row(a) {
    const text = alarmText(a.kind);
    const open = !a.cleared_at;
    const button = a.acked_by ? null : h('button', {
      class: 'action', 'data-testid': 'alarm-ack', disabled: !may('operator'),
      title: may('operator') ? null : t('error.role_operator'),
    }, t('alarm.ack'));
    if (button) button.addEventListener('click', () => ack(a, button));
    return h('article', {
      class: `alarm sev-${a.severity} ${open ? 'open' : 'cleared'}${a.acked_by ? ' acked' : ''}`,
      'data-testid': 'alarm-row', 'data-id': a.id, 'data-kind': a.kind, 'data-subject': a.subject || '',
      'data-open': open ? 'true' : 'false', 'data-acked': a.acked_by ? 'true' : 'false',
    },
    h('div', { class: 'alarm-head' },
      h('span', { class: `pill sev-${a.severity}` }, t(`severity.${a.severity}`)),
      h('strong', { class: 'alarm-title' }, text.title),
      a.subject ? h('span', { class: 'subject' }, a.subject) : null,
      h('span', { class: 'alarm-state' }, open ? t('alarm.open') : t('alarm.cleared'))),
    h('p', { class: 'alarm-text' }, a.text || ''),
    h('p', { class: 'guidance' }, text.guidance),
    h('div', { class: 'alarm-foot' },
      h('span', {}, t('alarm.raised'), ' ', time(a.raised_at)),
      a.cleared_at ? h('span', {}, t('alarm.cleared_at'), ' ', time(a.cleared_at)) : null,
      a.acked_by ? h('span', { 'data-testid': 'alarm-acked-by' },
        t('alarm.acked_by', { user: a.acked_by, at: time(a.acked_at) })) : null,
      button));
  }

  function render() {
    if (!live.alarms) {
      fill(list, h('p', { class: 'calm' }, live.stream === 'down' ? t('line.no_stream') : t('loading')));
      return;
    }
    if (live.alarms.length === 0) {
      fill(list, h('p', { class: 'calm', 'data-testid': 'no-alarms' }, t('alarm.none')));
      return;
    }
    fill(list, ordered(live.alarms).map(row));
  }

  render();
  return { update(kind) { if (kind === 'alarms' || kind === 'stream') render(); } };
}
