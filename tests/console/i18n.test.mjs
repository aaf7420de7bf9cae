// The console's texts (console/i18n.js): every English text has a Chinese
// one, and every alarm kind of docs/console.md has a title and guidance in both.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

// Loaded as an ES module whatever Node.js makes of a .js file outside a package.
const source = fs.readFileSync(new URL('../../console/i18n.js', import.meta.url), 'utf8');
const { TEXTS } = await import(`data:text/javascript,${encodeURIComponent(source)}`);

const KINDS = ['plc_link_down', 'chute_full', 'line_stopped', 'line_estop', 'read_rate_low',
  'scanner_unplugged', 'spool_filling', 'database_down', 'customs_failing', 'manifest_refused', 'label_printer_down'];

test('every text is in English and Chinese', () => {
  assert.deepEqual(Object.keys(TEXTS.en).filter((k) => !(k in TEXTS.zh)), []);
  assert.deepEqual(Object.keys(TEXTS.zh).filter((k) => !(k in TEXTS.en)), []);
});

test('every alarm kind has a title and guidance in both languages', () => {
  for (const lang of ['en', 'zh']) {
    for (const kind of KINDS) {
      const [title, guidance] = TEXTS.alarms[lang][kind] || [];
      assert.ok(title && guidance, `${lang} ${kind}`);
    }
  }
});
