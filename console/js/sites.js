// console/js/sites.js: the site registry and each site's threshold (null: the
// backend's global, FAR-calibrated default).
import { api } from './api.js';
import { h, fill, table, say } from './dom.js';
import { thresholdCell } from './threshold.js';

function addForm(msg, reload) {
	const name = h('input', { type: 'text', name: 'site', required: true, maxlength: 32, pattern: '[a-z0-9-]{1,32}' });
	return h('form', { class: 'card', id: 'site-add', onsubmit: async (e) => {
		e.preventDefault();
		try {
			await api('/sites', { method: 'POST', body: { site: name.value.trim() } });
			say(msg, 'note', `Added site ${name.value.trim()}.`);
			name.value = '';
			await reload();
		} catch (err) {
			say(msg, 'error', `Could not add the site: ${err.message}`);
		}
	} }, h('label', null, 'New site ([a-z0-9-], ≤ 32)', name), ' ', h('button', { type: 'submit' }, 'Add'));
}

export async function sitesView(main, ctx) {
	const msg = h('div', { id: 'sites-message' });
	const list = h('div');
	const reload = async () => {
		const { sites } = await api('/sites', { signal: ctx.signal });
		const rows = sites.map((s) => h('tr', { dataset: { site: s.site } },
			h('td', null, s.site),
			h('td', null, s.threshold === null || s.threshold === undefined ? 'global default' : String(s.threshold)),
			h('td', null, thresholdCell(`/sites/${encodeURIComponent(s.site)}/threshold`, s.threshold, s.site,
				'the global default', msg, reload))));
		const t = table(['Site', 'Threshold', 'Set'], rows, 'no sites registered');
		t.id = 'sites';
		fill(list, t);
	};
	fill(main, h('h1', null, 'Sites & thresholds'),
		h('p', { class: 'muted' }, 'A face is granted when its best score reaches the threshold: the device\'s ' +
			'override, else its site\'s, else the global default.'), msg, list, addForm(msg, reload));
	await reload();
}
