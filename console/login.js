// login.js - the login form (POST /v1/login). wcsd answers a wrong password,
// an unknown and a disabled user alike (401), and too many tries with 429.

import * as api from './api.js';
import { h, fill } from './dom.js';
import { t, setLanguage, language } from './i18n.js';

// Shows the form in root; done(answer) after a successful login.
export function showLogin(root, done) {
  const user = h('input', {
    name: 'user', autocomplete: 'username', required: true, maxlength: 20,
    autocapitalize: 'none', spellcheck: 'false', 'data-testid': 'login-user',
  });
  const password = h('input', {
    name: 'password', type: 'password', autocomplete: 'current-password', required: true,
    'data-testid': 'login-password',
  });
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'login-error' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'login-submit' }, t('login.submit'));
  const form = h('form', { class: 'login', 'data-testid': 'login-form' },
    h('h1', {}, t('login.title')),
    h('label', {}, t('login.user'), user),
    h('label', {}, t('login.password'), password),
    submit, error,
    h('p', { class: 'langs' },
      ['en', 'zh'].map((code) => h('button', {
        type: 'button', class: code === language() ? 'lang on' : 'lang', 'data-testid': `login-lang-${code}`,
        onclick: () => { setLanguage(code); showLogin(root, done); },
      }, code === 'en' ? 'EN' : '中文'))));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    fill(error);
    try {
      const answer = await api.post('/v1/login', { user: user.value.trim(), password: password.value });
      password.value = '';
      done(answer);
    } catch (e) {
      const key = { 401: 'login.failed', 429: 'login.too_many', 503: 'login.busy' }[e.status];
      fill(error, key ? t(key) : `${t('error.generic')} ${e.message}`);
      submit.disabled = false;
      password.select();
    }
  });
  fill(root, form);
  root.className = 'screen-login';
  user.focus();
}
