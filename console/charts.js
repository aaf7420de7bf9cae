// charts.js - small SVG charts over minutes, drawn by hand (no library):
// lines for rates and counts, stacked bars for parts of a whole. Both take
// times (ms, one per minute) and series of values of the same length, and
// scale to their box's width.

import { svg, h } from './dom.js';
import { hm } from './format.js';

const W = 600, H = 180, L = 44, R = 8, T = 8, B = 22; // box and margins, in SVG units
export const COLORS = ['#2f7ebc', '#d9822b', '#8e44ad', '#2e9e5b', '#c0392b', '#7f8c8d', '#b8a11a', '#16a0a0'];

const axisNumber = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frame(times, max, fmt) {
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const parts = [];
  for (const f of [0, 0.5, 1]) {
    parts.push(svg('line', { x1: L, x2: W - R, y1: y(max * f), y2: y(max * f), class: 'grid' }));
    parts.push(svg('text', { x: L - 4, y: y(max * f) + 4, 'text-anchor': 'end', class: 'axis' }, fmt(max * f)));
  }
  if (times.length > 0) {
    parts.push(svg('text', { x: L, y: H - 6, class: 'axis' }, hm(times[0])));
    parts.push(svg('text', { x: W - R, y: H - 6, 'text-anchor': 'end', class: 'axis' }, hm(times[times.length - 1])));
  }
  return { parts, y };
}

function legend(series) {
  if (series.length < 2) return null;
  return h('div', { class: 'legend' }, series.map((s, i) =>
    h('span', { class: 'key' },
      // A swatch in SVG: wcsd's Content-Security-Policy refuses style attributes.
      svg('svg', { width: 12, height: 12, 'aria-hidden': 'true' },
        svg('rect', { width: 12, height: 12, rx: 2, fill: s.color || COLORS[i % COLORS.length] })), s.name)));
}

function empty(label) {
  return h('p', { class: 'calm chart-empty' }, label);
}

// series: [{name, values: [number|null], color?}]; opts: {max?, fmt?, empty}
export function lineChart(times, series, opts = {}) {
  if (times.length === 0) return empty(opts.empty || '');
  const fmt = opts.fmt || axisNumber;
  const max = opts.max || niceMax(Math.max(4, ...series.flatMap((s) => s.values.filter((v) => v !== null))));
  const { parts, y } = frame(times, max, fmt);
  const x = (i) => (times.length === 1 ? (L + W - R) / 2 : L + ((W - R - L) * i) / (times.length - 1));
  series.forEach((s, si) => {
    let d = '';
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      d += `${d && s.values[i - 1] !== null && s.values[i - 1] !== undefined ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    });
    const color = s.color || COLORS[si % COLORS.length];
    parts.push(svg('path', { d, fill: 'none', stroke: color, 'stroke-width': 2 }));
    if (times.length === 1 && s.values[0] !== null) parts.push(svg('circle', { cx: x(0), cy: y(s.values[0]), r: 3, fill: color }));
  });
  return h('div', { class: 'chart' }, svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' }, parts), legend(series));
}

// Stacked bars, one per time: series as in lineChart, values counts.
export function barChart(times, series, opts = {}) {
  if (times.length === 0) return empty(opts.empty || '');
  const totals = times.map((_, i) => series.reduce((s, x) => s + (x.values[i] || 0), 0));
  const max = niceMax(Math.max(4, ...totals)); // counts: at least 0, 2, 4 on the axis
  const { parts, y } = frame(times, max, opts.fmt || axisNumber);
  const slot = (W - R - L) / times.length;
  const bw = Math.max(1, slot * 0.8);
  times.forEach((tm, i) => {
    let base = 0;
    series.forEach((s, si) => {
      const v = s.values[i] || 0;
      if (v <= 0) return;
      parts.push(svg('rect', {
        x: (L + slot * i + (slot - bw) / 2).toFixed(1), y: y(base + v).toFixed(1), width: bw.toFixed(1),
        height: (y(base) - y(base + v)).toFixed(1), fill: s.color || COLORS[si % COLORS.length],
      }, svg('title', {}, `${hm(tm)} ${s.name}: ${v}`)));
      base += v;
    });
  });
  return h('div', { class: 'chart' }, svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' }, parts), legend(series));
}
