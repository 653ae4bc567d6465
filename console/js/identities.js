// console/js/identities.js: the gallery's identities, enrolment from an
// uploaded photo (POST /identities, body = the image) and erasure.
import { api } from './api.js';
import { h, fill, table, time, say } from './dom.js';
import { siteBoxes } from './sites_pick.js';

const MAX_PHOTO = 4 * 1024 * 1024;

async function listInto(el, ctx, msg) {
	const { identities } = await api('/identities', { signal: ctx.signal });
	const rows = identities.map((p) => h('tr', { dataset: { identity: p.identity } },
		h('td', null, p.identity), h('td', null, p.display_name || '-'),
		h('td', null, p.sites && p.sites.length ? p.sites.join(', ') : 'all sites'),
		h('td', null, String(p.templates)), h('td', null, time(p.created)),
		h('td', null, h('button', { type: 'button', class: 'danger', onclick: () => erase(p.identity, el, ctx, msg) },
			'Delete'))));
	const t = table(['Identity', 'Name', 'Sites', 'Templates', 'Enrolled', ''], rows, 'nobody enrolled yet');
	t.id = 'identities';
	fill(el, t);
}

async function erase(identity, el, ctx, msg) {
	if (!confirm(`Erase ${identity}: templates and name, everywhere?`)) return;
	try {
		await api(`/identities/${encodeURIComponent(identity)}`, { method: 'DELETE' });
		say(msg, 'note', `Erased ${identity}.`);
		await listInto(el, ctx, msg);
	} catch (err) {
		say(msg, 'error', `Could not erase ${identity}: ${err.message}`);
	}
}

function enrolForm(sites, onDone, msg) {
	const identity = h('input', { type: 'text', name: 'identity', required: true, maxlength: 128 });
	const display = h('input', { type: 'text', name: 'display_name', maxlength: 128 });
	const photo = h('input', { type: 'file', name: 'photo', accept: 'image/jpeg,image/png', required: true });
	const preview = h('img', { class: 'preview', alt: '', hidden: true });
	photo.addEventListener('change', () => {
		if (preview.src) URL.revokeObjectURL(preview.src);
		const f = photo.files[0];
		preview.hidden = !f;
		if (f) preview.src = URL.createObjectURL(f);
	});
	const submit = h('button', { type: 'submit' }, 'Enrol');
	return h('form', { class: 'card', id: 'enrol', onsubmit: async (e) => {
		e.preventDefault();
		const f = photo.files[0];
		if (!f || !['image/jpeg', 'image/png'].includes(f.type)) return say(msg, 'error', 'Choose a JPEG or PNG photo.');
		if (f.size > MAX_PHOTO) return say(msg, 'error', 'The photo is larger than 4 MiB.');
		const q = new URLSearchParams({ identity: identity.value.trim() });
		if (sites.picked().length) q.set('sites', sites.picked().join(','));
		if (display.value.trim()) q.set('display_name', display.value.trim());
		submit.disabled = true;
		say(msg, 'muted', 'Enrolling…');
		try {
			const r = await api(`/identities?${q}`, { method: 'POST', body: f, contentType: f.type });
			say(msg, 'note', `Enrolled ${r.identity} (${r.templates} template${r.templates === 1 ? '' : 's'}).`);
			await onDone();
		} catch (err) {
			say(msg, 'error', `Enrolment failed: ${err.message}`);
		} finally {
			submit.disabled = false;
		}
	} },
	h('h2', null, 'Enrol from a photo'),
	h('p', { class: 'muted' }, 'One face, front view; the backend detects, aligns and embeds it as fleetctl does. ' +
		'Enrolling an existing identity adds a template.'),
	h('label', null, 'Identity', identity), h('label', null, 'Display name (optional)', display),
	h('label', null, 'Sites (none: all)', sites.el), h('br'),
	h('label', null, 'Photo (JPEG or PNG, ≤ 4 MiB)', photo), preview, ' ', submit);
}

export async function identitiesView(main, ctx) {
	const msg = h('div', { id: 'identities-message' });
	const list = h('div');
	const sites = await siteBoxes(ctx, 'sites');
	fill(main, h('h1', null, 'Identities'), enrolForm(sites, () => listInto(list, ctx, msg), msg), msg, list);
	await listInto(list, ctx, msg);
}
