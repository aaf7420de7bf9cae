// why.js - "why this chute": a decision's WHY (docs/wcsd.md, GET /v1/decide)
// as the operator reads it: the plan rule that matched, the route, whether
// its fallback was used, and each chute of the group with its state and load,
// the chosen one marked.

import { h } from './dom.js';
import { t } from './i18n.js';

// A group's chutes with their state (and load, when known), the chosen one
// marked; testid prefixes the chips' test ids.
export function group(title, chutes, testid = 'why-chute') {
  return h('div', { class: 'why-group' }, h('h4', {}, title),
    h('div', { class: 'why-chutes' }, (chutes || []).map((c) => h('span', {
      class: `why-chute state-${c.state}${c.chosen ? ' chosen' : ''}`,
      'data-testid': `${testid}-${c.chute}`, 'data-chosen': c.chosen ? 'true' : 'false',
      'data-state': c.state,
    }, h('strong', {}, c.chute), ` ${t(`chute_state.${c.state}`)}`, c.load !== undefined ? ` · ${c.load}` : '',
    c.chosen ? ` ✔ ${t('why.chosen')}` : ''))));
}

// The block for why (may be null: nothing to explain).
export function whyBlock(why) {
  if (!why) return h('section', { class: 'card why', 'data-testid': 'why-block' }, h('h2', {}, t('why.title')),
    h('p', { class: 'calm' }, t('why.none')));
  const rule = why.rule;
  const route = why.route && typeof why.route === 'object' ? why.route : why.route ? { id: why.route } : null;
  return h('section', { class: 'card why', 'data-testid': 'why-block' },
    h('h2', {}, t('why.title')),
    h('dl', { class: 'facts' },
      h('dt', {}, t('why.rule')),
      h('dd', { 'data-testid': 'why-rule' }, rule
        ? [t('why.rule_line', { line: rule.line }), ' · ', rule.description || '', ' · ', t('why.priority', { p: rule.priority })]
        : t('why.no_rule')),
      h('dt', {}, t('why.route')),
      h('dd', { 'data-testid': 'why-route' }, route
        ? [route.id, route.mode ? ` (${route.mode}${route.crossing ? `, ${route.crossing}` : ''})` : '']
        : '–'),
      why.fallback_from ? [h('dt', {}, t('why.fallback')), h('dd', { class: 'warn' }, t('why.fallback_from', { route: why.fallback_from }))] : null),
    why.group ? group(t('why.group'), why.group) : null,
    why.fallback_group ? group(t('why.fallback_group'), why.fallback_group) : null);
}
