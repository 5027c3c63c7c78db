// @ts-check
// The operations console: polls /api/console at whichever site answers (the one it was loaded from
// first), draws the sites on a map of Korea, leaders, lag, a live chart and the fires seen so far.
// Calls go through the web app's transport (failover to the next site), one quick round per poll.
import { byId } from '../core/dom.js';
import { Transport } from '../core/transport.js';

/**
 * What GET /api/console answers.
 * @typedef {{ name: string, up: boolean, leads: number, nodeReady: boolean, server?: string | null }} SiteRow
 * @typedef {{ name: string, leader?: string | null, replicas: number, messages: number }} AssetRow
 * @typedef {{ stream: string, site: string, reason: string }} Behind
 * @typedef {{ at: string, kind: string, text: string }} ConsoleEvent
 * @typedef {{ site: string, at: string, controls: boolean, sites: SiteRow[], fullyReplicated: boolean, behind: Behind[],
 *   assets: AssetRow[], events: ConsoleEvent[], chatMessages: number, errors: number }} ConsoleView
 */

const $ = byId;
/** @type {Record<string, [number, number, string]>} where the local sites stand on the map (viewBox 300x360) */
const PLACES = { pangyo: [150, 124, 'start'], chuncheon: [180, 84, 'start'], ansan: [104, 140, 'end'] };
/** @type {{ at: number, messages: number, errors: number, site: string }[]} */
const history = [];
const transport = new Transport({ storageKey: 'haetae.console.sites', timeoutMs: 4000, rounds: 1 });

/** An SVG element of the page (byId finds HTML elements only). @param {string} id */
function svg(id) {
  const element = document.getElementById(id);
  if (!(element instanceof SVGElement)) throw new Error(`#${id} is not an SVG element`);
  return element;
}

/** @param {string} name @param {number} i @returns {[number, number, string]} */
function place(name, i) {
  return PLACES[name] ?? [110 + (i * 60) % 120, 250 + Math.floor(i / 3) * 30, 'start'];
}

/** @param {ConsoleView} view */
function render(view) {
  $('site').textContent = `Seen from ${view.site} · ${new Date(view.at).toLocaleTimeString()}`;
  $('site').dataset.site = view.site;
  const marks = svg('site-marks');
  marks.replaceChildren();
  const rows = $('site-rows');
  rows.replaceChildren();
  view.sites.forEach((site, i) => {
    const [x, y, anchor] = place(site.name, i);
    const g = document.createElementNS('http://www.w3.org/2000/svg', 'g');
    g.setAttribute('class', `mark ${site.up ? 'up' : 'down'}`);
    g.dataset.site = site.name;
    const circle = document.createElementNS('http://www.w3.org/2000/svg', 'circle');
    circle.setAttribute('cx', String(x)); circle.setAttribute('cy', String(y)); circle.setAttribute('r', site.up ? '9' : '11');
    const label = document.createElementNS('http://www.w3.org/2000/svg', 'text');
    label.setAttribute('x', String(anchor === 'end' ? x - 14 : x + 14)); label.setAttribute('y', String(y + 4));
    label.setAttribute('text-anchor', anchor);
    label.textContent = `${site.name} ${site.up ? `▲${site.leads}` : '✕ down'}`;
    g.append(circle, label);
    marks.append(g);

    const row = document.createElement('tr');
    row.dataset.site = site.name;
    const cell = (/** @type {string} */ text, /** @type {string} */ cls = '') => Object.assign(document.createElement('td'), { textContent: text, className: cls });
    row.append(Object.assign(document.createElement('th'), { scope: 'row', textContent: site.name }),
      cell(site.up ? 'up · 정상' : 'down · 중단', `state ${site.up ? 'up' : 'down'}`),
      cell(String(site.leads)), cell(site.nodeReady ? 'ready' : 'not ready'));
    const actions = document.createElement('td');
    if (view.controls) {
      // The actions that make sense now: a running site can get a fire alarm (evacuation) or burn; a burned one is rebuilt.
      /** @type {['evacuate' | 'fire' | 'rebuild', string, string][]} */
      const offered = site.up ? [['evacuate', 'Alarm', ''], ['fire', 'Burn', 'danger']] : [['rebuild', 'Rebuild', '']];
      for (const [action, label, className] of offered) {
        const button = Object.assign(document.createElement('button'), { type: 'button', className, textContent: `${label} ${site.name}` });
        button.addEventListener('click', () => confirmAction(action, site.name));
        actions.append(button);
      }
    }
    row.append(actions);
    rows.append(row);
  });
  $('redundancy').textContent = view.fullyReplicated
    ? 'Full redundancy: yes · 완전 이중화'
    : `Full redundancy: no · 이중화 손상 (${view.behind.length} replicas behind)`;
  $('redundancy').className = `redundancy ${view.fullyReplicated ? 'ok' : 'bad'}`;
  $('servers').textContent = `nats-server: ${view.sites.map(s => `${s.name} ${s.server ?? '-'}`).join(' · ')}`;

  const shards = $('shard-rows');
  shards.replaceChildren();
  for (const asset of view.assets) {
    const row = document.createElement('tr');
    for (const text of [asset.name, asset.leader ?? 'electing… · 선출 중', `${asset.replicas}/3`, String(asset.messages)]) {
      row.append(Object.assign(document.createElement('td'), { textContent: text }));
    }
    shards.append(row);
  }
  const behind = $('behind');
  behind.replaceChildren(...view.behind.map((b) => Object.assign(document.createElement('li'), { textContent: `${b.stream} at ${b.site}: ${b.reason}` })));
  if (view.behind.length === 0) behind.append(Object.assign(document.createElement('li'), { textContent: 'none · 없음' }));

  const events = $('events');
  events.replaceChildren(...view.events.slice().reverse().map((e) => {
    const item = document.createElement('li');
    item.className = e.kind;
    item.dataset.kind = e.kind;
    item.textContent = `${new Date(e.at).toLocaleTimeString()} — ${e.text}`;
    return item;
  }));
  if (view.events.length === 0) events.append(Object.assign(document.createElement('li'), { textContent: 'nothing yet · 아직 없음' }));

  history.push({ at: Date.now(), messages: view.chatMessages, errors: view.errors, site: view.site });
  while (history.length > 121) history.shift();
  drawChart();
}

function drawChart() {
  const chart = svg('chart');
  /** @type {{ msgs: number, errs: number }[]} */
  const rates = [];
  for (let i = 1; i < history.length; i++) {
    const seconds = Math.max(0.001, (history[i].at - history[i - 1].at) / 1000);
    const sameSite = history[i].site === history[i - 1].site;
    rates.push({ msgs: Math.max(0, (history[i].messages - history[i - 1].messages) / seconds), errs: sameSite ? Math.max(0, (history[i].errors - history[i - 1].errors) / seconds) : 0 });
  }
  const top = Math.max(10, ...rates.map((r) => Math.max(r.msgs, r.errs)));
  const x = (/** @type {number} */ i) => 40 + (i * 550) / 120;
  const y = (/** @type {number} */ v) => 185 - (v / top) * 170;
  const line = (/** @type {'msgs' | 'errs'} */ key, /** @type {string} */ cls) => `<polyline class="${cls}" points="${rates.map((r, i) => `${x(i + 120 - rates.length)},${y(r[key])}`).join(' ')}"/>`;
  chart.innerHTML = `<line class="grid" x1="40" y1="185" x2="590" y2="185"/><line class="grid" x1="40" y1="15" x2="590" y2="15"/>` +
    `<text x="2" y="19">${top.toFixed(0)}</text><text x="2" y="189">0</text><text x="520" y="199">now · 지금</text>` +
    line('msgs', 'msgs') + line('errs', 'errs');
  const last = rates[rates.length - 1];
  $('rate').textContent = last ? last.msgs.toFixed(1) : '0';
  $('errors').textContent = last ? last.errs.toFixed(1) : '0';
}

/** @param {'evacuate' | 'fire' | 'rebuild'} action @param {string} site */
function confirmAction(action, site) {
  const dialog = $('confirm', HTMLDialogElement);
  const asked = {
    evacuate: [`Fire alarm at ${site}?`, `Every leader moves off ${site} and its clients move to the other sites; after that its loss pauses nothing. · ${site}의 리더와 클라이언트를 다른 데이터센터로 옮깁니다.`],
    fire: [`Burn ${site}?`, `Every process of ${site} is killed at once and its data deleted, as a fire would. · ${site}의 모든 프로세스를 죽이고 데이터를 지웁니다.`],
    rebuild: [`Rebuild ${site}?`, `${site} starts again empty and copies everything from the other sites. · ${site}를 비운 채로 다시 시작합니다.`],
  }[action];
  $('confirm-title').textContent = asked[0];
  $('confirm-text').textContent = asked[1];
  dialog.returnValue = '';
  dialog.onclose = async () => {
    if (dialog.returnValue !== 'ok') return;
    try {
      await transport.send('POST', `/api/console/sites/${encodeURIComponent(site)}/${action}`);
    } catch (error) {
      $('redundancy').textContent = `${action}: ${error instanceof Error ? error.message : error}`;
    }
  };
  dialog.showModal();
}

async function poll() {
  try {
    render(await transport.send('GET', '/api/console'));
  } catch {
    $('site').textContent = 'No site answers · 응답하는 데이터센터 없음';
  }
  setTimeout(poll, 1000);
}

// The incident editor: operators' calls carry the admin key (kept for this tab only), through a
// transport of their own so that the polls above need none.
const admin = new Transport({ storageKey: 'haetae.console.sites', timeoutMs: 8000, rounds: 1 });

/** @typedef {{ id: string, title: string, stage: string, start: string, end?: string | null, cause: string }} IncidentRow */

/** @param {string} text */
const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);

async function loadIncidents() {
  try {
    /** @type {IncidentRow[]} */
    const incidents = await admin.send('GET', '/api/status/incidents?limit=20');
    $('incident-list').replaceChildren(...incidents.map((i) => {
      const item = Object.assign(document.createElement('li'), { textContent: `${new Date(i.start).toLocaleString()} — ${i.title} (${i.stage}, ${i.id})` });
      item.dataset.incident = i.id;
      return item;
    }));
    for (const pick of [$('ui-incident', HTMLSelectElement), $('pm-incident', HTMLSelectElement)]) {
      const chosen = pick.value;
      pick.replaceChildren(...incidents.map((i) => Object.assign(document.createElement('option'), { value: i.id, textContent: `${i.title} (${i.id})` })));
      if (chosen) pick.value = chosen;
    }
  } catch {
    // Shown again on the next round.
  }
}

/** @param {string} form @param {(data: FormData) => [string, string, unknown]} call */
function editor(form, call) {
  $(form, HTMLFormElement).addEventListener('submit', async (event) => {
    event.preventDefault();
    const element = $(form, HTMLFormElement);
    const [method, path, body] = call(new FormData(element));
    admin.token = $('admin-key', HTMLInputElement).value || null;
    try {
      const answer = await admin.send(method, path, body);
      $('incident-result').textContent = `Done · 완료: ${answer?.id ?? ''}`;
      element.reset();
      await loadIncidents();
    } catch (error) {
      $('incident-result').textContent = `Refused · 거부: ${error instanceof Error ? error.message : error}`;
    }
  });
}

const field = (/** @type {FormData} */ data, /** @type {string} */ name) => String(data.get(name) ?? '');
editor('open-incident', (d) => ['POST', '/api/status/incidents', { title: field(d, 'title'), text: field(d, 'text'), components: list(field(d, 'components')), impact: field(d, 'impact') }]);
editor('update-incident', (d) => ['POST', `/api/status/incidents/${encodeURIComponent(field(d, 'incident'))}/updates`, { stage: field(d, 'stage'), text: field(d, 'text') }]);
editor('postmortem', (d) => ['PUT', `/api/status/incidents/${encodeURIComponent(field(d, 'incident'))}/postmortem`, { text: field(d, 'text') }]);
editor('maintenance', (d) => ['POST', '/api/status/maintenance', {
  title: field(d, 'title'), from: `${field(d, 'from')}:00Z`, to: `${field(d, 'to')}:00Z`, components: list(field(d, 'components')),
}]);
$('admin-key', HTMLInputElement).value = sessionStorage.getItem('haetae.console.admin') ?? '';
$('admin-key', HTMLInputElement).addEventListener('change', () => sessionStorage.setItem('haetae.console.admin', $('admin-key', HTMLInputElement).value));

async function boot() {
  await transport.discover();
  await admin.discover();
  poll();
  loadIncidents();
  setInterval(loadIncidents, 5000);
}

boot();
