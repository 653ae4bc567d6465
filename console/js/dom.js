// console/js/dom.js: building the page from data without innerHTML. Every
// string from the API goes in as a text node or an attribute value.

// h('tr', {class: 'x', onclick: fn, dataset: {id: 1}}, child, 'text', [more]) -> Element.
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false) continue;
		if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
		else if (k === 'dataset') Object.assign(el.dataset, v);
		else if (k === 'class') el.className = v;
		else if (k in el && typeof v !== 'string') el[k] = v;
		else el.setAttribute(k, v === true ? '' : String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children.flat(Infinity)) {
		if (c === null || c === undefined || c === false) continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
}

// Replaces el's children.
export function fill(el, ...children) {
	el.replaceChildren();
	append(el, children);
	return el;
}

// A table: headings, then rows (arrays of cells or ready <tr>s).
export function table(headings, rows, empty) {
	const body = h('tbody', null, rows.map((r) => (r instanceof Node ? r : h('tr', null, r.map((c) => h('td', null, c))))));
	if (!rows.length && empty) body.append(h('tr', null, h('td', { colspan: headings.length, class: 'muted' }, empty)));
	return h('table', null, h('thead', null, h('tr', null, headings.map((t) => h('th', null, t)))), body);
}

export function badge(text) { return h('span', { class: `badge ${String(text).replace(/[^a-z]/g, '')}` }, text); }

// RFC 3339 -> "2024-05-01 12:00:00.123 UTC" (the API's times are UTC); '' -> '-'.
export function time(s) {
	if (!s) return '-';
	const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)Z$/.exec(s);
	return m ? `${m[1]} ${m[2]} UTC` : String(s);
}

export function score(x) { return typeof x === 'number' ? x.toFixed(3) : '-'; }
export function ms(x) { return typeof x === 'number' ? `${Math.round(x)} ms` : '-'; }

// A message line (class 'error' or 'note') replacing el's content.
export function say(el, cls, text) { return fill(el, h('p', { class: cls, role: 'status' }, text)); }
