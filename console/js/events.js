// console/js/events.js: the live events list (GET /events, then the stream)
// and one event's detail with the decoder's reconstruction of its face.
import { api, request, stream, withQuery } from './api.js';
import { h, fill, table, badge, time, score, ms, say } from './dom.js';

const MAX_ROWS = 200;

function eventRow(ev, fresh) {
	return h('tr', { class: fresh ? 'clickable fresh' : 'clickable',
		dataset: { eventId: ev.event_id, decision: ev.decision, identity: ev.identity || '' },
		onclick: () => { location.hash = `#/events/${encodeURIComponent(ev.event_id)}`; } },
	h('td', null, time(ev.capture_time)),
	h('td', null, ev.site), h('td', null, ev.device),
	h('td', null, badge(ev.decision)),
	h('td', null, ev.identity || '-'),
	h('td', null, score(ev.score)),
	h('td', null, ms(ev.latency_ms)));
}

export async function eventsView(main, ctx) {
	const status = h('span', { class: 'status down', id: 'stream-status' }, 'connecting');
	const msg = h('div');
	const tbl = table(['Captured', 'Site', 'Device', 'Decision', 'Identity', 'Score', 'Backend latency'], []);
	const body = tbl.tBodies[0];
	body.id = 'events';
	fill(main, h('h1', null, 'Live events', status), msg, tbl);
	const seen = new Set();
	const add = (ev, fresh) => {
		if (seen.has(ev.event_id)) return;
		seen.add(ev.event_id);
		const row = eventRow(ev, fresh);
		if (fresh) body.prepend(row); else body.append(row);
		while (body.rows.length > MAX_ROWS) body.lastChild.remove();
	};
	// The stream first, so nothing recorded while the list loads is missed.
	stream('/events/stream', (frame) => {
		if (frame.event !== 'access') return;
		try { add(JSON.parse(frame.data), true); } catch (_) { /* a malformed frame: skipped */ }
	}, (state, err) => {
		status.className = `status ${state}`;
		fill(status, state === 'live' ? 'live' : `disconnected${err ? `: ${err.message}` : ''}`);
	}, ctx.signal);
	try {
		const list = await api(withQuery('/events', { limit: 50 }), { signal: ctx.signal });
		for (const ev of list.events) add(ev, false);
	} catch (err) {
		if (!ctx.signal.aborted) say(msg, 'error', `Could not list events: ${err.message}`);
	}
}

function meta(pairs) {
	return h('dl', { class: 'meta' }, pairs.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

// The reconstruction, fetched with the token and shown from a blob: URL.
async function faceFigure(ev, ctx) {
	const caption = h('figcaption', null,
		'RECONSTRUCTION — decoded from the codes the device sent; not a photograph');
	const fig = h('figure', { class: 'recon', id: 'face' }, caption);
	try {
		const res = await request(`/events/${encodeURIComponent(ev.event_id)}/face.png`, { signal: ctx.signal });
		const url = URL.createObjectURL(await res.blob());
		ctx.signal.addEventListener('abort', () => URL.revokeObjectURL(url));
		fig.prepend(h('img', { src: url, alt: 'reconstruction of the face of this event', width: 224, height: 224 }));
	} catch (err) {
		if (!ctx.signal.aborted) fig.prepend(h('p', { class: 'error' }, `No reconstruction: ${err.message}`));
	}
	return fig;
}

export async function eventView(main, ctx, id) {
	const ev = await api(`/events/${encodeURIComponent(id)}`, { signal: ctx.signal });
	const topk = table(['Candidate', 'Score'], (ev.topk || []).map((c) => [c.identity, score(c.score)]),
		'no candidates');
	topk.id = 'topk';
	const facts = meta([
		['Event', ev.event_id], ['Site', ev.site], ['Device', `${ev.device} (seq ${ev.seq})`],
		['Decision', badge(ev.decision)], ['Identity', ev.identity || '-'], ['Score', score(ev.score)],
		['Reason', ev.reason || '-'], ['Model', ev.model_id || '-'],
		['Track', ev.track_id === null || ev.track_id === undefined ? '-' : String(ev.track_id)],
		['Captured', time(ev.capture_time)], ['Received', time(ev.received_time)],
		['Decided', time(ev.decided_time)],
		['Backend latency (received → decided)', ms(ev.latency_ms)]]);
	let face;
	if (!ev.has_face) face = h('p', { class: 'muted' }, 'The codes of this face were not kept.');
	else if (ctx.who.role !== 'operator') face = h('p', { class: 'muted' }, 'Faces are shown to operators only.');
	else face = await faceFigure(ev, ctx);
	if (ctx.signal.aborted) return;
	fill(main, h('p', null, h('a', { href: '#/events' }, '← Live events')),
		h('h1', null, 'Event ', badge(ev.decision)),
		h('div', { class: 'detail', id: 'event-detail' }, face,
			h('div', null, facts, h('h2', null, 'Top candidates'), topk)));
}
