// videocoding.js - video coding of no-reads (issue 14): the oldest parcel
// no scanner or camera could read (GET /v1/noreads, pending ones oldest
// first), with its camera images large enough to read the label by eye; an
// operator keys its code in (POST /v1/noreads/ID/key {code}, checked by wcsd
// as any scan) or marks it unreadable ({unreadable: true}), and the next one
// comes up. The queue is asked again every few seconds (the stream says
// nothing about no-reads); the one on screen stays while it is pending, so a
// refresh never changes the parcel under the operator's fingers. Below, the
// codes keyed last, by whom and when.

import * as api from './api.js';
import { h, fill } from './dom.js';
import { t } from './i18n.js';
import { may } from './session.js';
import { time } from './format.js';
import { failure, failureText, outcome, section, table } from './widgets.js';

const REFRESH_MS = 3000;
const RECENT = 10;

export function mount(root) {
  const allowed = may('operator');
  const count = h('strong', { class: 'vc-count', 'data-testid': 'videocoding-pending' }, '…');
  // The images on the left, as large as the screen allows; the facts and the code on the right.
  const images = h('div', { class: 'vc-images' });
  const parcel = h('div', { class: 'vc-parcel', 'data-testid': 'videocoding-current' },
    h('p', { class: 'calm' }, t('loading')));
  const code = h('input', {
    name: 'code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', maxlength: '40',
    class: 'vc-code', placeholder: t('videocoding.code_hint'), 'data-testid': 'videocoding-code', disabled: !allowed,
  });
  const keyButton = h('button', { type: 'submit', class: 'primary', 'data-testid': 'videocoding-key', disabled: true },
    t('videocoding.key'));
  const unreadableButton = h('button', { type: 'button', class: 'action', 'data-testid': 'videocoding-unreadable', disabled: true },
    t('videocoding.unreadable'));
  const error = h('p', { class: 'outcome', 'data-testid': 'videocoding-error', 'aria-live': 'assertive' });
  const done = h('p', { class: 'outcome', 'data-testid': 'videocoding-done', 'aria-live': 'polite' });
  const recent = h('div', { 'data-testid': 'videocoding-recent' }, h('p', { class: 'calm' }, t('loading')));
  const form = h('form', { class: 'vc-form' },
    h('label', {}, t('videocoding.code'), code), keyButton, unreadableButton);

  fill(root, h('div', { class: 'title-row' }, h('h1', {}, t('nav.videocoding')),
    h('span', { class: 'vc-queue' }, t('videocoding.pending'), ' ', count)),
  section(t('videocoding.current'), allowed ? null : h('p', { class: 'calm', 'data-testid': 'videocoding-readonly' },
    t('error.role_operator')), h('div', { class: 'vc-work' }, images, h('div', { class: 'vc-side' }, parcel, form, error, done))),
  section(t('videocoding.recent'), recent));

  let current = null; // the no-read on screen, or null
  let sending = false;
  let timer = 0;
  let gone = false;
  let asked = 0; // the latest refresh; an older one's answer is dropped

  // The buttons are usable when there is a no-read, nothing is on its way, and the role may.
  function buttons() {
    const usable = allowed && current !== null && !sending;
    keyButton.disabled = !usable;
    unreadableButton.disabled = !usable;
    code.disabled = !allowed || current === null;
  }

  function show(n) {
    current = n;
    buttons();
    if (!n) {
      fill(images);
      fill(parcel, h('p', { class: 'calm', 'data-testid': 'videocoding-empty' }, t('videocoding.empty')));
      return;
    }
    fill(parcel, h('dl', { class: 'facts' },
      h('dt', {}, t('videocoding.tracking')), h('dd', {}, h('strong', { 'data-testid': 'videocoding-tracking' }, n.tracking)),
      h('dt', {}, t('col.location')), h('dd', { 'data-testid': 'videocoding-location' }, n.location),
      h('dt', {}, t('col.at')), h('dd', { 'data-testid': 'videocoding-at' }, time(n.at)),
      h('dt', {}, t('videocoding.cause')),
      h('dd', { 'data-testid': 'videocoding-cause', 'data-cause': n.cause }, t(`videocoding.cause.${n.cause}`, {}, n.cause))));
    fill(images, (n.images || []).length === 0
      ? h('p', { class: 'calm vc-noimages', 'data-testid': 'videocoding-noimages' }, t('videocoding.no_images'))
      : n.images.map((im) => h('figure', { class: 'vc-image' },
        h('a', { href: im.url, target: '_blank', rel: 'noopener' },
          h('img', { src: im.url, alt: `${n.tracking} ${im.camera}`, 'data-testid': 'videocoding-image' })),
        h('figcaption', {}, im.camera))));
    if (allowed) code.focus();
  }

  async function refresh() {
    const mine = ++asked;
    const stale = () => gone || mine !== asked;
    let q, r;
    try {
      [q, r] = await Promise.all([api.get('/v1/noreads?state=pending&limit=1'),
        api.get(`/v1/noreads?state=keyed&limit=${RECENT}`)]);
    } catch (e) {
      if (!stale() && current === null) fill(parcel, failure(e));
      return;
    }
    if (stale()) return;
    fill(count, String(q.pending ?? 0));
    const oldest = (q.noreads || [])[0] || null;
    // Keep the one on screen while it is pending (someone else may key it: then the next).
    if (!current || !oldest || oldest.id !== current.id) {
      if (current && !sending) {
        const still = await api.get(`/v1/noreads/${api.seg(current.id)}`).then((x) => x.noread, () => null);
        if (stale()) return;
        if (!still || still.state !== 'pending') show(oldest);
      } else if (!current) {
        show(oldest);
      }
    }
    fill(recent, table([
      { head: t('videocoding.tracking'), cell: (n) => n.tracking },
      { head: t('col.code'), cell: (n) => (n.code
        ? h('a', { href: `#/parcels/${encodeURIComponent(n.code)}` }, n.code) : '') },
      { head: t('col.by'), cell: (n) => n.keyed_by || '' },
      { head: t('videocoding.keyed_at'), cell: (n) => time(n.keyed_at) },
      { head: t('videocoding.resolved'), cell: (n) => (n.resolved_to ? `${n.resolved_to} ${time(n.resolved_at)}` : '') },
    ], r.noreads || [], (n) => ({ 'data-testid': 'videocoding-recent-row', 'data-id': n.id })));
  }

  // Keys a code (or unreadable) for the no-read on screen, then shows the next.
  async function key(body) {
    if (!current || sending) return;
    const n = current;
    sending = true;
    asked++; // a refresh on its way may predate this key
    buttons();
    fill(error);
    error.className = 'outcome';
    try {
      await api.post(`/v1/noreads/${api.seg(n.id)}/key`, body);
      outcome(done, true, body.code
        ? t('videocoding.keyed', { code: body.code, tracking: n.tracking })
        : t('videocoding.marked', { tracking: n.tracking }));
      code.value = '';
      current = null;
    } catch (e) {
      // 422: not a valid parcel code; 409: keyed meanwhile by someone else. wcsd says which.
      outcome(error, false, e.status === 422 || e.status === 409 ? e.message : failureText(e));
      fill(done);
      done.className = 'outcome';
      if (e.status === 409) { code.value = ''; current = null; }
    }
    sending = false;
    buttons();
    if (current === null) await refresh();
    else if (allowed) code.select();
  }

  code.addEventListener('input', () => {
    const at = code.selectionStart;
    code.value = code.value.toUpperCase();
    code.setSelectionRange(at, at);
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const c = code.value.trim().toUpperCase();
    if (c) key({ code: c });
    else code.focus();
  });
  unreadableButton.addEventListener('click', () => key({ unreadable: true }));

  async function tick() {
    if (!sending) await refresh();
    if (!gone) timer = setTimeout(tick, REFRESH_MS);
  }
  tick();
  return {
    unmount() {
      gone = true;
      clearTimeout(timer);
    },
  };
}
