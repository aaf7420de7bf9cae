// line.js - the sorter as a picture, from the stream's `line` event: a
// status strip, the induction and scan points, the route chutes in their
// physical order around a loop (first half along the top left to right, the
// rest back along the bottom), the special destinations apart, and each
// chute's state and fill. The tiles are built once per layout and updated
// in place every second, so a tap never lands on a tile being replaced.
// Tapping a chute opens its panel (chute.js).

import { h, fill } from './dom.js';
import { t } from './i18n.js';
import { live } from './store.js';
import { percent, num, time } from './format.js';
import { openChutePanel } from './chute.js';

export function mount(root) {
  const strip = h('div', { class: 'strip', 'data-testid': 'line-strip' });
  const picture = h('div', { class: 'line-picture' });
  const side = h('aside', { class: 'side', hidden: true, 'data-testid': 'chute-panel' });
  fill(root, strip, picture, side);
  let layout = '';
  let tiles = new Map(); // chute id -> {el, bar, load, state}
  let panel = null;

  function render() {
    const line = live.line;
    if (!line) {
      fill(strip);
      fill(picture, h('p', { class: 'calm', 'data-testid': 'line-waiting' },
        live.stream === 'down' ? t('line.no_stream') : t('line.waiting')));
      layout = '';
      return;
    }
    renderStrip(strip, line);
    const sig = JSON.stringify([line.chutes.map((c) => [c.id, c.special]), line.plcs.map((p) => p.locations),
      line.default_exit]);
    if (sig !== layout) {
      layout = sig;
      tiles = new Map();
      fill(picture, buildPicture(line, tiles, openPanel));
    }
    for (const c of line.chutes) updateTile(tiles.get(c.id), c);
    if (panel) panel.update(line);
  }

  function openPanel(id) {
    if (panel) panel.close();
    const pick = (picked) => { for (const [cid, tile] of tiles) tile.el.classList.toggle('picked', cid === picked); };
    panel = openChutePanel(side, id, () => { panel = null; pick(null); });
    pick(id);
  }

  render();
  return {
    update(kind) { if (kind === 'line' || kind === 'stream') render(); },
    unmount() { if (panel) panel.close(); },
  };
}

function cell(label, value, state, testid) {
  return h('div', { class: `cell ${state || ''}`, 'data-testid': testid },
    h('span', { class: 'label' }, label), h('span', { class: 'value' }, value));
}

// Which wcsd of the line is active (this one, or the other: the standby's
// console says so), since when, and the last takeover.
function haCells(line) {
  const ha = line.ha;
  if (!ha) return [];
  const role = ha.role === 'active'
    ? `${line.node} ${t('line.active')} ${t('line.since')} ${time(ha.active_since)}`
    : `${line.node} ${t('line.standby')}`;
  const node = cell(t('line.node'), role, ha.role === 'active' ? 'ok' : 'warn', 'node-role');
  node.title = `${t('line.this')}: ${ha.this}\n${t('line.active')}: ${ha.active || '–'}` +
    `\n${t('line.standby')}: ${ha.standby || '–'}`;
  const last = ha.last_takeover
    ? `${time(ha.last_takeover.at)} ← ${ha.last_takeover.from}` : '–';
  return [node, cell(t('line.last_takeover'), last, '', 'last-takeover')];
}

function renderStrip(strip, line) {
  const now = line.now || {};
  const scanners = line.scanners || [];
  const up = scanners.filter((s) => s.connected).length;
  const plcCells = (line.plcs || []).flatMap((p) => [
    cell(p.id, p.connected ? t('line.link_up') : t('line.link_down'), p.connected ? 'ok' : 'bad', `plc-${p.id}`),
    cell(t('line.state'), t(`line_state.${p.line_state}`),
      p.line_state === 'RUNNING' ? 'ok' : p.line_state === 'STOPPED' || p.line_state === 'UNKNOWN' ? 'warn' : 'bad',
      `line-state-${p.id}`),
    cell(t('line.speed'), p.speed_mm_s >= 0 ? `${(p.speed_mm_s / 1000).toFixed(1)} m/s` : '–', '', `speed-${p.id}`),
  ]);
  fill(strip,
    haCells(line),
    plcCells,
    cell(t('line.scanners'), `${up}/${scanners.length}`, up < scanners.length ? 'warn' : 'ok', 'scanners'),
    cell(t('line.sorted_min'), num(now.sorted_last_min), '', 'sorted-last-min'),
    cell(t('line.read_rate'), percent(now.read_rate), now.read_rate !== null && now.read_rate < 0.95 ? 'warn' : '',
      'read-rate'),
    cell(t('line.queued'), `${num(now.queued)} / ${num(now.spooled)}`, now.spooled > 0 ? 'warn' : '', 'queued'),
    cell(t('line.database'), now.database ? t('line.up') : t('line.down'), now.database ? 'ok' : 'bad', 'database'),
    cell(t('line.alarms'), num(now.alarms_open), now.alarms_open > 0 ? 'warn' : 'ok', 'alarms-open'),
    cell(t('line.plan'), line.plan_version ? `v${line.plan_version}` : '–', line.plan_version ? '' : 'bad', 'plan'));
}

function buildPicture(line, tiles, onPick) {
  const routeChutes = line.chutes.filter((c) => !c.special);
  const specials = line.chutes.filter((c) => c.special);
  const half = Math.ceil(routeChutes.length / 2);
  const tile = (c) => {
    const el = h('button', { class: 'tile', 'data-testid': `chute-${c.id}`, onclick: () => onPick(c.id) });
    const bar = h('span', { class: 'fill' });
    const load = h('span', { class: 'load' });
    const state = h('span', { class: 'tstate' });
    const route = h('span', { class: 'troute' });
    const desc = h('span', { class: 'tdesc' });
    el.append(h('span', { class: 'tid' }, c.special ? t(`special.${c.special}`) : c.id), route, desc,
      h('span', { class: 'bar' }, bar), load, state);
    tiles.set(c.id, { el, bar, load, state, route, desc });
    return el;
  };
  const points = (line.plcs || []).flatMap((p) => (p.locations || []).map((loc) => {
    const scanners = (line.scanners || []).filter((s) => s.location === loc);
    return h('span', { class: 'point scan', 'data-testid': `point-${loc}` }, loc,
      scanners.map((s) => h('span', { class: s.connected ? 'scanner ok' : 'scanner bad' }, ` ${s.id}`)));
  }));
  return [
    h('div', { class: 'loop', 'data-testid': 'line-loop' },
      h('div', { class: 'row top' }, routeChutes.slice(0, half).map(tile)),
      h('div', { class: 'belt' },
        h('span', { class: 'point induction' }, '▶ ', t('line.induction')), points,
        h('span', { class: 'arrows' }, '→ → →'),
        h('span', { class: 'point exit', title: t('line.default_exit') }, `${t('line.default_exit')}: ${line.default_exit || '–'}`)),
      h('div', { class: 'row bottom' }, routeChutes.slice(half).map(tile))),
    h('h2', { class: 'specials-title' }, t('line.specials')),
    h('div', { class: 'row specials', 'data-testid': 'specials' }, specials.map(tile)),
    h('p', { class: 'legend' }, ['active', 'full', 'disabled_plc', 'disabled_operator', 'fault'].map((s) =>
      h('span', { class: `key state-${s}` }, t(`chute_state.${s}`)))),
  ];
}

function updateTile(tile, c) {
  if (!tile) return;
  const cap = c.capacity > 0 ? c.capacity : 0;
  tile.el.className = `tile state-${c.state}${c.special ? ' special' : ''}${cap && c.load > cap ? ' over' : ''}${
    tile.el.classList.contains('picked') ? ' picked' : ''}`;
  tile.el.dataset.state = c.state;
  tile.el.dataset.load = c.load;
  tile.el.title = `${c.id} ${c.description || ''}`;
  tile.bar.style.width = cap ? `${Math.min(100, (100 * c.load) / cap)}%` : '0';
  tile.load.textContent = cap ? `${c.load}/${cap}` : String(c.load);
  tile.state.textContent = c.state === 'active' ? '' : t(`chute_state.${c.state}`);
  tile.route.textContent = c.special ? c.id : c.route || t('line.no_route');
  tile.desc.textContent = c.special ? '' : c.route_description || '';
}
