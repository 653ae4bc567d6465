// console/js/threshold.js: a threshold's cell with Set / Default, shared by the
// sites (per-site threshold) and devices (per-device override) pages.
import { api } from './api.js';
import { h, say } from './dom.js';

// path: the resource's PUT .../threshold; label: what the message names;
// fallback: what null means there; msg: where the outcome is said; then reload().
export function thresholdCell(path, value, label, fallback, msg, reload) {
	const input = h('input', { type: 'number', class: 'thr', min: 0, max: 1, step: 0.01,
		value: value === null || value === undefined ? '' : String(value), placeholder: 'default' });
	const put = async (threshold) => {
		try {
			await api(path, { method: 'PUT', body: { threshold } });
			say(msg, 'note', threshold === null ? `${label}: back to ${fallback}.` : `${label}: threshold ${threshold}.`);
			await reload();
		} catch (err) {
			say(msg, 'error', `${label}: ${err.message}`);
		}
	};
	return h('span', null, input, ' ',
		h('button', { type: 'button', class: 'secondary', onclick: () => {
			const t = Number(input.value);
			if (input.value === '' || !(t >= 0 && t <= 1)) return say(msg, 'error', `${label}: a threshold is 0..1.`);
			return put(t);
		} }, 'Set'), ' ',
		h('button', { type: 'button', class: 'secondary', onclick: () => put(null) }, 'Default'));
}
