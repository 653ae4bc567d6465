// console/js/app.js: login, the header and the routes (#/events, #/events/ID,
// #/identities, #/devices, #/sites). Each view gets the <main> element and a
// context {who, signal}; the signal aborts when the route changes.
import { api, clearToken, setToken, setUnauthorizedHandler, token } from './api.js';
import { h, fill, say } from './dom.js';
import { eventsView, eventView } from './events.js';
import { identitiesView } from './identities.js';
import { devicesView } from './devices.js';
import { sitesView } from './sites.js';

const main = document.getElementById('main');
let who = null;          // GET /whoami of the current token
let current = null;      // AbortController of the view shown

const routes = [
	[/^#\/events\/([^/]+)$/, (m, ctx) => eventView(main, ctx, decodeURIComponent(m[1]))],
	[/^#\/identities$/, (m, ctx) => identitiesView(main, ctx)],
	[/^#\/devices$/, (m, ctx) => devicesView(main, ctx)],
	[/^#\/sites$/, (m, ctx) => sitesView(main, ctx)],
	[/^/, (m, ctx) => eventsView(main, ctx)],
];

function loginView(message) {
	const input = h('input', { class: 'token', id: 'token', type: 'password', autocomplete: 'off',
		placeholder: 'paste the token fleetctl token add printed', required: true });
	const msg = h('div', { id: 'login-message' });
	if (message) say(msg, 'error', message);
	const form = h('form', { class: 'card', id: 'login', onsubmit: async (e) => {
		e.preventDefault();
		setToken(input.value.trim());
		try {
			await start();
		} catch (err) {
			clearToken();
			say(msg, 'error', `Login failed: ${err.message}`);
		}
	} },
	h('h1', null, 'Log in'),
	h('p', { class: 'muted' }, 'An API token of role operator or integrator (',
		h('code', null, 'fleetctl token add NAME --role operator'), '). It is kept in this tab only.'),
	input, ' ', h('button', { type: 'submit' }, 'Log in'), msg);
	fill(main, form);
	showHeader(false);
	input.focus();
}

function showHeader(on) {
	document.getElementById('nav').hidden = !on;
	document.getElementById('logout').hidden = !on;
	const w = document.getElementById('who');
	if (!on) { fill(w); return; }
	const scope = who.sites ? who.sites.join(', ') : 'all sites';
	fill(w, `${who.name} · ${who.role} · ${scope}`);
	for (const a of document.querySelectorAll('#nav a[data-role]'))
		a.hidden = who.role !== a.dataset.role;
}

function route() {
	if (!who) return;
	if (current) current.abort();
	current = new AbortController();
	const hash = location.hash || '#/events';
	for (const a of document.querySelectorAll('#nav a'))
		a.classList.toggle('active', hash.startsWith(a.getAttribute('href')));
	for (const [re, view] of routes) {
		const m = re.exec(hash);
		if (!m) continue;
		Promise.resolve(view(m, { who, signal: current.signal })).catch((err) => {
			if (!current.signal.aborted) say(main, 'error', err.message);
		});
		return;
	}
}

// Checks the token (GET /whoami), then shows the page the URL names.
async function start() {
	who = await api('/whoami');
	showHeader(true);
	route();
}

setUnauthorizedHandler(() => {
	if (!who) return;
	who = null;
	clearToken();
	if (current) current.abort();
	loginView('The token was refused (revoked or expired): log in again.');
});
document.getElementById('logout').addEventListener('click', () => {
	who = null;
	clearToken();
	if (current) current.abort();
	loginView();
});
window.addEventListener('hashchange', route);

if (token()) start().catch((err) => { clearToken(); loginView(`Login failed: ${err.message}`); });
else loginView();
