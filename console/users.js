// users.js - console users for an admin (GET/POST /v1/users): the list, a
// new user with a role and a first password, disabling and enabling.

import * as api from './api.js';
import { h, fill } from './dom.js';
import { t } from './i18n.js';
import { act, load, outcome, failureText, section, table } from './widgets.js';

const ROLES = ['viewer', 'operator', 'supervisor', 'admin'];

export function mount(root) {
  const out = h('p', { class: 'outcome', 'data-testid': 'action-result', 'aria-live': 'polite' });
  const body = h('div', { 'data-testid': 'users' });
  const reload = () => load(body, () => api.get('/v1/users'), (d) => table([
    { head: t('col.user'), cell: (u) => u.name },
    { head: t('col.role'), cell: (u) => t(`role.${u.role}`) },
    { head: t('col.state'), cell: (u) => (u.active ? t('users.state_active') : h('span', { class: 'warn' }, t('users.state_disabled'))) },
    { head: t('col.language'), cell: (u) => u.language || '' },
    { head: '', cell: (u) => h('button', {
      class: 'action', 'data-testid': `user-${u.active ? 'disable' : 'enable'}-${u.name}`,
      onclick: async () => {
        const verb = u.active ? 'disable' : 'enable';
        if (await act(t(`users.confirm_${verb}`, { name: u.name }), out,
          () => api.post(`/v1/users/${api.seg(u.name)}/${verb}`, {}), () => t(`users.${verb}d`, { name: u.name }))) reload();
      },
    }, t(u.active ? 'users.disable' : 'users.enable')) },
  ], d.users || []));

  const name = h('input', { name: 'name', required: true, maxlength: 20, autocomplete: 'off' });
  const role = h('select', { name: 'role' }, ROLES.map((r) => h('option', { value: r }, t(`role.${r}`))));
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' });
  const form = h('form', { class: 'inline-form', 'data-testid': 'user-form' },
    h('label', {}, t('col.user'), name), h('label', {}, t('col.role'), role),
    h('label', {}, t('login.password'), password), h('button', { type: 'submit', class: 'action' }, t('users.add')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api.post('/v1/users', { name: name.value.trim(), role: role.value, password: password.value });
      outcome(out, true, t('users.added', { name: name.value.trim() }));
      name.value = '';
      password.value = '';
      reload();
    } catch (e) {
      outcome(out, false, failureText(e));
    }
  });
  fill(root, h('h1', {}, t('nav.users')), out, section(t('users.new'), form), section(t('nav.users'), body));
  reload();
}
