// widgets.js - the small pieces every screen uses: a confirmation dialog
// (touch-friendly, no window.confirm), what to show when a request fails
// (a calm "not available" for a 404 from a wcsd that lacks the endpoint),
// tables, and the outcome line of an action.

import { h, fill } from './dom.js';
import { t } from './i18n.js';

// Asks question in a modal; resolves true for yes.
export function confirmAction(question, yesLabel) {
  const overlay = document.getElementById('overlay');
  return new Promise((resolve) => {
    const done = (answer) => { fill(overlay); overlay.classList.remove('on'); resolve(answer); };
    const yes = h('button', { class: 'primary', 'data-testid': 'confirm-yes', onclick: () => done(true) },
      yesLabel || t('confirm.yes'));
    fill(overlay, h('div', { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'data-testid': 'confirm' },
      h('p', {}, question),
      h('div', { class: 'buttons' },
        h('button', { 'data-testid': 'confirm-no', onclick: () => done(false) }, t('confirm.no')), yes)));
    overlay.classList.add('on');
    yes.focus();
  });
}

// What a failed request means to the operator.
export function failureText(e) {
  if (e.status === 404) return t('error.not_available');
  if (e.status === 403) return t('error.forbidden');
  if (e.status === 409) return `${t('error.conflict')} ${e.message}`;
  if (e.status === 0) return t('error.unreachable');
  return `${t('error.generic')} ${e.message}`;
}

export function failure(e) {
  return h('p', { class: e.status === 404 ? 'calm' : 'error', 'data-testid': e.status === 404 ? 'not-available' : 'error' },
    failureText(e));
}

// Shows "loading", then render(data) or the failure, in root.
export async function load(root, fetcher, render) {
  fill(root, h('p', { class: 'calm' }, t('loading')));
  let data;
  try {
    data = await fetcher();
  } catch (e) {
    fill(root, failure(e));
    return;
  }
  fill(root, render(data));
}

// columns: [{head, cell: (row) => text|Node, class?}]
export function table(columns, rows, rowAttrs = () => ({})) {
  if (!rows || rows.length === 0) return h('p', { class: 'calm' }, t('none'));
  return h('div', { class: 'scroll' }, h('table', {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.class }, c.head)))),
    h('tbody', {}, rows.map((r) => h('tr', rowAttrs(r), columns.map((c) => h('td', { class: c.class }, c.cell(r))))))));
}

// The line under an action's buttons: its result or why it failed.
export function outcome(el, ok, text) {
  el.className = ok ? 'outcome ok' : 'outcome error';
  fill(el, text);
}

// Runs an action after confirming it, reporting into outEl; returns the answer or null.
export async function act(question, outEl, call, okText) {
  if (!(await confirmAction(question))) return null;
  try {
    const answer = await call();
    outcome(outEl, true, okText(answer));
    return answer;
  } catch (e) {
    outcome(outEl, false, failureText(e));
    return null;
  }
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', {}, title), children);
}
