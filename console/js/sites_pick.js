// console/js/sites_pick.js: the registered sites as checkboxes (GET /sites),
// shared by the enrolment form; none ticked means every site.
import { api } from './api.js';
import { h } from './dom.js';

export async function siteBoxes(ctx, name) {
	const { sites } = await api('/sites', { signal: ctx.signal });
	const boxes = sites.map((s) => h('label', null, h('input', { type: 'checkbox', name, value: s.site }), s.site));
	return { el: h('span', { class: 'chips' }, boxes),
		picked: () => boxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value) };
}
