// console/js/devices.js: devices with their state (online/offline from their
// DeviceStatus, revoked, disabled), revocation and the per-device threshold.
import { api } from './api.js';
import { h, fill, table, badge, time, say } from './dom.js';
import { thresholdCell } from './threshold.js';

async function revoke(device, msg, reload) {
	if (!confirm(`Revoke ${device}? Its credentials stop working at once.`)) return;
	try {
		await api(`/devices/${encodeURIComponent(device)}/revoke`, { method: 'POST' });
		say(msg, 'note', `Revoked ${device}.`);
		await reload();
	} catch (err) {
		say(msg, 'error', `Could not revoke ${device}: ${err.message}`);
	}
}

export async function devicesView(main, ctx) {
	const msg = h('div', { id: 'devices-message' });
	const list = h('div');
	const reload = async () => {
		const { devices } = await api('/devices', { signal: ctx.signal });
		const rows = devices.map((d) => h('tr', { dataset: { device: d.device, state: d.state } },
			h('td', null, d.device), h('td', null, d.site), h('td', null, badge(d.state)),
			h('td', null, time(d.last_seen)),
			h('td', null, thresholdCell(`/devices/${encodeURIComponent(d.device)}/threshold`, d.threshold,
				d.device, "the site's", msg, reload)),
			h('td', null, d.state === 'revoked' ? '' :
				h('button', { type: 'button', class: 'danger', onclick: () => revoke(d.device, msg, reload) }, 'Revoke'))));
		const t = table(['Device', 'Site', 'State', 'Last seen', 'Threshold override', ''], rows, 'no devices');
		t.id = 'devices';
		fill(list, t);
	};
	fill(main, h('h1', null, 'Devices'), msg, list);
	await reload();
}
