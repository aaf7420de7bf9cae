// stream.js - the live events from GET /v1/stream into the store. The
// browser's EventSource retries a dropped connection by itself but gives up
// on an HTTP error (a 401 after the session ended, a 503); then we ask again
// with a growing pause, and a stream silent for too long (the line event
// comes every second) is replaced, since a half-dead TCP connection says nothing.

import { put } from './store.js';

const SILENT_MS = 10000;
let es = null;
let retryMs = 1000;
let retryTimer = 0;
let watchdog = 0;
let lastEvent = 0;
let onClosed = () => {};

function parse(kind, ev) {
  lastEvent = Date.now();
  try {
    const data = JSON.parse(ev.data);
    put(kind, kind === 'alarms' ? data.alarms || [] : data);
  } catch (e) {
    console.warn('stream: bad', kind, 'event', e);
  }
}

function open() {
  clearTimeout(retryTimer);
  if (es) es.close();
  put('stream', 'connecting');
  lastEvent = Date.now();
  es = new EventSource('/v1/stream');
  es.onopen = () => { retryMs = 1000; put('stream', 'live'); };
  for (const kind of ['line', 'alarms', 'figures']) es.addEventListener(kind, (ev) => parse(kind, ev));
  es.onerror = () => {
    if (es.readyState !== EventSource.CLOSED) { put('stream', 'connecting'); return; }
    again();
  };
}

function again() {
  if (es) es.close();
  es = null;
  put('stream', 'down');
  retryTimer = setTimeout(async () => {
    // An HTTP error closed it: the session may be gone (then a login is asked for).
    if (await onClosed()) open();
  }, retryMs);
  retryMs = Math.min(retryMs * 2, 15000);
}

// Starts the stream. stillLoggedIn() is asked before each new try after an
// HTTP error and answers whether to try again.
export function start(stillLoggedIn) {
  onClosed = stillLoggedIn;
  retryMs = 1000;
  open();
  clearInterval(watchdog);
  watchdog = setInterval(() => {
    if (es && Date.now() - lastEvent > SILENT_MS) again();
  }, 2000);
}

export function stop() {
  clearTimeout(retryTimer);
  clearInterval(watchdog);
  if (es) es.close();
  es = null;
}
