// api.js - the one way the console talks to wcsd: JSON in and out, the
// session's CSRF token on every POST (wcsd refuses a session's POST without
// it), and one place that notices a lost session (401) and asks for a login.

let csrf = '';
let onUnauthorized = () => {};

// An answer that was not 2xx. status 0 = wcsd could not be reached.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
}

export function setCsrf(token) { csrf = token || ''; }

// fn() is called on any 401 but the login's own (which is a wrong password).
export function whenUnauthorized(fn) { onUnauthorized = fn; }

async function call(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (method === 'POST') {
    opts.headers['Content-Type'] = 'application/json';
    opts.headers['X-CSRF-Token'] = csrf;
    opts.body = JSON.stringify(body ?? {});
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, 'unreachable', e.message);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (res.ok) return data ?? {};
  const err = data && data.error ? data.error : {};
  if (res.status === 401 && path !== '/v1/login' && path !== '/v1/session') onUnauthorized();
  throw new ApiError(res.status, err.code, err.message);
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);

// A path segment from user input or data (a parcel code, a chute id).
export const seg = (s) => encodeURIComponent(String(s));
