// Tiny DOM helpers shared by the views.

/** h('div', {class: 'x', onclick: f}, child, 'text', ...) */
export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const fmt = (n) => (n === undefined || n === null ? '–' : Number(n).toLocaleString(document.documentElement.lang));

/** A TLP badge. */
export function tlpBadge(tlp) {
  const v = String(tlp || '').replace(/^TLP:/i, '').toUpperCase();
  return h('span', { class: `tlp tlp-${v.toLowerCase().replace('+', '-')}`, title: `TLP:${v}` }, `TLP:${v}`);
}

/** A labelled form field. */
export function field(label, input) {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

/** A <select> from [value, label] pairs. */
export function select(attrs, options, value) {
  const s = h('select', attrs, options.map(([v, l]) => h('option', { value: v }, l)));
  if (value !== undefined) s.value = value;
  return s;
}

/** Debounce a function. */
export function debounce(f, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => f(...a), ms); };
}
