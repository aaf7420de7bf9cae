// format.js - times, numbers and sizes as the operator reads them.

const pad = (n) => String(n).padStart(2, '0');

// wcsd gives a few times as text in UTC without a zone ("2026-12-07 13:21:01",
// GET /v1/customs/problems); the browser would read that as local time.
const utcText = (s) => (/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?$/.test(s) ? `${s.replace(' ', 'T')}Z` : s);

// Local HH:MM:SS, with the date in front when it is not today.
export function time(ms) {
  if (ms === null || ms === undefined || ms === '') return '';
  const d = new Date(typeof ms === 'number' ? ms : Date.parse(utcText(ms)));
  if (Number.isNaN(d.getTime())) return String(ms);
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return hms;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}`;
}

// Local HH:MM for chart axes.
export function hm(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function percent(x) {
  return x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`;
}

export function kg(g) {
  return g === null || g === undefined ? '–' : `${(g / 1000).toFixed(1)} kg`;
}

export function num(n) {
  return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US');
}

// Any JSON value as one line for a table cell: a list joined, an error
// {field, code, message} as "field: message", an object as "key=value".
export function text(v) {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(text).join('; ');
  if (typeof v !== 'object') return String(v);
  if (v.message !== undefined) return [v.field, v.message].filter(Boolean).join(': ');
  return Object.entries(v).map(([k, x]) => `${k}=${typeof x === 'object' && x !== null ? JSON.stringify(x) : x}`).join(', ');
}
