// store.js - the latest of each live event (docs/console.md "Live") and who
// wants to hear when one changes. The stream and the first GET /v1/alarms
// write here; screens and the navigation bar read.

export const live = { line: null, alarms: null, figures: null, stream: 'connecting' };

const listeners = new Set();

// fn(kind) after live[kind] changed; kind is 'line', 'alarms', 'figures' or 'stream'.
export function listen(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function put(kind, value) {
  live[kind] = value;
  for (const fn of listeners) {
    try { fn(kind); } catch (e) { console.error(e); }
  }
}

// Open alarms nobody acknowledged yet: the navigation bar's badge.
export function unackedOpen() {
  return (live.alarms || []).filter((a) => !a.cleared_at && !a.acked_by).length;
}
