// console/js/api.js: the backend's /api/v1, with the token from sessionStorage
// as "Authorization: Bearer" (never in a URL), and the live event stream read
// with fetch() because EventSource cannot send that header.
const TOKEN_KEY = 'facefleet.token';
const BASE = '/api/v1';

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(t) { sessionStorage.setItem(TOKEN_KEY, t); }
export function clearToken() { sessionStorage.removeItem(TOKEN_KEY); }

// The API's error body {"error","message"} (or the HTTP status alone) as an Error.
export class ApiError extends Error {
	constructor(status, code, message) {
		super(message || code || `HTTP ${status}`);
		this.status = status;
		this.code = code || `http_${status}`;
	}
}

// Called with the ApiError of any 401: the token is gone or was revoked.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// path plus a query made from params (entries null/undefined/'' left out).
export function withQuery(path, params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {}))
		if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
	const s = q.toString();
	return s ? `${path}?${s}` : path;
}

async function failure(res) {
	let code = null, message = null;
	try {
		const body = await res.json();
		code = body.error; message = body.message;
	} catch (_) { /* not JSON: the status says enough */ }
	const err = new ApiError(res.status, code, message);
	if (res.status === 401) onUnauthorized(err);
	return err;
}

// The raw Response of one request (opts: method, body, contentType, signal);
// throws ApiError unless 2xx.
export async function request(path, opts = {}) {
	const headers = { Authorization: `Bearer ${token() || ''}` };
	let body = opts.body;
	if (opts.contentType) headers['Content-Type'] = opts.contentType;
	else if (body !== undefined && !(body instanceof Blob)) {
		headers['Content-Type'] = 'application/json';
		body = JSON.stringify(body);
	}
	const res = await fetch(BASE + path, { method: opts.method || 'GET', headers, body,
		signal: opts.signal, cache: 'no-store', credentials: 'omit' });
	if (!res.ok) throw await failure(res);
	return res;
}

// The JSON of one request (null for 204).
export async function api(path, opts) {
	const res = await request(path, opts);
	return res.status === 204 ? null : res.json();
}

// One server-sent-events frame ("event:", "id:", "data:" lines; ":" comments)
// as {event, id, data}; null for a comment-only frame (the server's pings).
export function parseFrame(frame) {
	const out = { event: 'message', id: null, data: [] };
	let any = false;
	for (const line of frame.split('\n')) {
		if (line === '' || line.startsWith(':')) continue;
		const i = line.indexOf(':');
		const field = i < 0 ? line : line.slice(0, i);
		const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
		if (field === 'event') out.event = value;
		else if (field === 'id') out.id = value;
		else if (field === 'data') out.data.push(value);
		else continue;
		any = true;
	}
	return any ? { event: out.event, id: out.id, data: out.data.join('\n') } : null;
}

// Reads path's text/event-stream until signal aborts, calling onFrame for each
// frame and onState('live' | 'down', detail) as the connection comes and goes;
// reconnects after 1, 2, 4 .. 15 s. A 401/403 ends it (onState('down', err)).
export async function stream(path, onFrame, onState, signal) {
	let delay = 1000;
	while (!signal.aborted) {
		try {
			const res = await request(path, { signal });
			onState('live');
			delay = 1000;
			await readFrames(res.body, onFrame);
			onState('down', new Error('the stream ended'));
		} catch (err) {
			if (signal.aborted) return;
			onState('down', err);
			if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return;
		}
		await new Promise((r) => setTimeout(r, delay));
		delay = Math.min(delay * 2, 15000);
	}
}

async function readFrames(body, onFrame) {
	const reader = body.pipeThrough(new TextDecoderStream()).getReader();
	let buf = '';
	for (;;) {
		const { value, done } = await reader.read();
		if (done) return;
		buf += value.replace(/\r\n?/g, '\n');
		let end;
		while ((end = buf.indexOf('\n\n')) >= 0) {
			const frame = parseFrame(buf.slice(0, end));
			buf = buf.slice(end + 2);
			if (frame) onFrame(frame);
		}
	}
}
