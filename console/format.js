// format.js - times, numbers and sizes as the operator reads them.

const pad = (n) => String(n).padStart(2, '0');

// Local HH:MM:SS, with the date in front when it is not today.
export function time(ms) {
  if (ms === null || ms === undefined || ms === '') return '';
  const d = new Date(typeof ms === 'number' ? ms : Date.parse(ms));
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
