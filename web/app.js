/* global document, window, location, sessionStorage, fetch, setTimeout, clearTimeout */
/**
 * mm-metrics admin UI: plain ES module, no build step.
 *
 * Talks only to the HTTP API under the same base path. Auth: a static admin token kept
 * in sessionStorage (sent as `Authorization: Bearer`), or — behind a Mattermost site —
 * the Mattermost session cookie, in which case every write also carries
 * `X-Requested-With` and the `MMCSRF` cookie value as `X-CSRF-Token`.
 * All data is put into the page with textContent, never as HTML.
 */

const BASE = location.pathname.replace(/\/(index\.html)?$/, '');
const TOKEN_KEY = 'mm-metrics-admin-token';
const LOGGED_OUT_KEY = 'mm-metrics-logged-out';
const FAST_REFRESH_MS = 5000;
const SLOW_REFRESH_MS = 15000;
const HOUR = 3600 * 1000;
const PRESETS = { hour: HOUR, day: 24 * HOUR, week: 7 * 24 * HOUR };

const state = {
  jobs: [],
  stats: null,
  targets: [],
  view: 'dumps',
  authed: false,
  timer: null,
  estimateSeq: 0,
  estimateTimer: null,
};

const $ = (id) => document.getElementById(id);

// ---- API --------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return '';
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const csrf = cookie('MMCSRF');
  if (csrf) headers['X-CSRF-Token'] = csrf;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(BASE + path, init);
  } catch {
    throw new ApiError(0, 'The server cannot be reached.');
  }
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, (data && data.error) || `${res.status} ${res.statusText}`);
    if (res.status === 401 && state.authed) showLogin('Your session has ended. Please sign in again.');
    throw err;
  }
  return data;
}

// ---- formatting -------------------------------------------------------------------------

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const numFmt = new Intl.NumberFormat();

function fmtTime(ms) {
  return ms > 0 ? dateFmt.format(new Date(ms)) : '–';
}

function fmtBytes(n) {
  if (!(n > 0)) return '–';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

function fmtAgo(ms) {
  if (!(ms > 0)) return 'never';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return fmtTime(ms);
}

function fmtDuration(sec) {
  if (!(sec >= 0)) return '–';
  return sec < 1 ? `${Math.round(sec * 1000)} ms` : `${sec.toFixed(2)} s`;
}

/** ms → value for <input type="datetime-local"> (local time, minutes). */
function toLocalInput(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fromLocalInput(v) {
  if (!v) return NaN;
  return new Date(v).getTime(); // a date-time without offset is local time
}

/** el('td', {class: 'x', title: 't'}, child, 'text', …) */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

function timeEl(ms) {
  return ms > 0 ? el('time', { datetime: new Date(ms).toISOString(), title: new Date(ms).toISOString(), text: fmtTime(ms) }) : '–';
}

let toastTimer = null;
function toast(msg, kind = 'info') {
  const t = $('toast');
  t.textContent = msg;
  t.className = `toast show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.className = 'toast'), 4000);
}

// ---- views ------------------------------------------------------------------------------

function showLogin(message) {
  state.authed = false;
  clearTimeout(state.timer);
  sessionStorage.removeItem(TOKEN_KEY);
  for (const id of ['dumps-view', 'targets-view', 'nav', 'logout']) $(id).hidden = true;
  $('who').textContent = '';
  $('login-view').hidden = false;
  $('login-error').textContent = message || '';
  $('token').value = '';
  $('token').focus();
}

function enterApp() {
  state.authed = true;
  $('login-view').hidden = true;
  $('nav').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = sessionStorage.getItem(TOKEN_KEY) ? 'Signed in with admin token' : 'Signed in with Mattermost';
  route();
  refresh();
}

function route() {
  if (!state.authed) return;
  state.view = location.hash === '#/targets' ? 'targets' : 'dumps';
  $('dumps-view').hidden = state.view !== 'dumps';
  $('targets-view').hidden = state.view !== 'targets';
  for (const v of ['dumps', 'targets']) {
    const a = $(`nav-${v}`);
    if (v === state.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${state.view === 'dumps' ? 'Dumps' : 'Targets'} · Mattermost Metrics`;
}

// ---- refresh loop -----------------------------------------------------------------------

function hasActiveJobs() {
  return state.jobs.some((j) => j.status === 'pending' || j.status === 'in_progress');
}

function scheduleRefresh() {
  clearTimeout(state.timer);
  if (!state.authed) return;
  state.timer = setTimeout(refresh, hasActiveJobs() ? FAST_REFRESH_MS : SLOW_REFRESH_MS);
}

async function refresh() {
  if (!state.authed) return;
  if (document.hidden) return scheduleRefresh();
  const [jobs, stats, targets] = await Promise.allSettled([api('GET', '/jobs'), api('GET', '/tsdb/stats'), api('GET', '/targets')]);
  if (!state.authed) return;
  if (jobs.status === 'fulfilled') {
    state.jobs = jobs.value || [];
    renderJobs();
  }
  if (stats.status === 'fulfilled') {
    state.stats = stats.value;
    renderStats();
  }
  if (targets.status === 'fulfilled') {
    state.targets = targets.value || [];
    renderTargets();
  }
  const failed = [jobs, stats, targets].find((r) => r.status === 'rejected' && r.reason.status !== 401);
  if (failed) toast(`Refresh failed: ${failed.reason.message}`, 'error');
  scheduleRefresh();
}

// ---- stats ------------------------------------------------------------------------------

function dataRange(s) {
  if (!s) return null;
  let min = Infinity;
  let max = -Infinity;
  if (s.num_samples > 0 || s.num_series > 0 || s.max_t > s.min_t) {
    min = s.min_t;
    max = s.max_t;
  }
  if (s.head && s.head.num_series > 0) {
    min = Math.min(min, s.head.min_t);
    max = Math.max(max, s.head.max_t);
  }
  return min <= max ? { min, max } : null;
}

function renderStats() {
  const s = state.stats;
  const r = dataRange(s);
  $('stat-from').replaceChildren(r ? timeEl(r.min) : 'No data yet');
  $('stat-to').replaceChildren(r ? timeEl(r.max) : '–');
  $('stat-samples').textContent = numFmt.format(s.num_samples || 0);
  $('stat-series').textContent = numFmt.format(s.num_series || 0);
  $('stat-blocks').textContent = s.num_blocks === undefined ? '–' : numFmt.format(s.num_blocks);
  $('stat-head').replaceChildren(
    ...(s.head
      ? [`${numFmt.format(s.head.num_series)} series`, s.head.num_samples !== undefined ? el('div', { class: 'small muted', text: `${numFmt.format(s.head.num_samples)} samples` }) : null].filter(Boolean)
      : ['none on this node']),
  );
  $('stats-updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

// ---- jobs -------------------------------------------------------------------------------

const STATUS_TEXT = { pending: 'Pending', in_progress: 'Running', success: 'Ready', error: 'Failed' };

function jobRow(j) {
  const filters = [];
  if (j.instances && j.instances.length) filters.push(`instances: ${j.instances.join(', ')}`);
  if (j.groups && j.groups.length) filters.push(`groups: ${j.groups.join(', ')}`);
  if (j.matchers && j.matchers.length) filters.push(`selectors: ${j.matchers.join(' ')}`);

  const status = el('div', { class: 'status-cell' }, el('span', { class: `badge status-${j.status}`, text: STATUS_TEXT[j.status] || j.status }));
  if (j.status === 'in_progress') {
    status.append(el('progress', { max: 100, value: j.progress || 0, 'aria-label': `Progress of the dump created ${fmtTime(j.create_at)}` }), el('span', { class: 'small muted', text: `${j.progress || 0}%` }));
  }
  if (j.status === 'error' && j.error) status.append(el('span', { class: 'small error-text', text: j.error, title: j.error }));

  const when = fmtTime(j.create_at);
  const actions = el('div', { class: 'row-actions' });
  if (j.status === 'success') {
    actions.append(el('button', { type: 'button', class: 'secondary', 'data-action': 'download', 'aria-label': `Download the dump created ${when}`, text: 'Download', onclick: () => download(j) }));
  }
  actions.append(el('button', { type: 'button', class: 'ghost danger-text', 'data-action': 'delete', 'aria-label': `Delete the dump created ${when}`, text: j.status === 'pending' || j.status === 'in_progress' ? 'Cancel' : 'Delete', onclick: () => removeJob(j) }));

  const range = el('td', {}, el('span', {}, timeEl(j.min_t), ' → ', timeEl(j.max_t)));
  if (filters.length) range.append(el('div', { class: 'small muted', text: filters.join(' · ') }));
  const sha = j.sha256 ? el('code', { title: j.sha256, text: j.sha256.slice(0, 12) }) : '–';
  const tr = el('tr', { 'data-id': j.id, 'data-status': j.status },
    el('td', {}, timeEl(j.create_at)),
    range,
    el('td', {}, status),
    el('td', { class: 'num', text: fmtBytes(j.size) }),
    el('td', {}, sha),
    el('td', {}, actions),
  );
  tr.dataset.sig = JSON.stringify([j.status, j.progress, j.size, j.sha256, j.error, j.min_t, j.max_t]);
  return tr;
}

/** Updates rows in place (keyed by id) so focus and scroll survive a refresh. */
function renderJobs() {
  const body = $('jobs-body');
  const old = new Map([...body.children].map((tr) => [tr.dataset.id, tr]));
  const rows = state.jobs.map((j) => {
    const fresh = jobRow(j);
    const prev = old.get(j.id);
    if (prev && prev.dataset.sig === fresh.dataset.sig) return prev;
    if (prev) prev.replaceWith(fresh);
    return fresh;
  });
  rows.forEach((tr, i) => {
    if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
  });
  while (body.children.length > rows.length) body.lastElementChild.remove();
  $('jobs-empty').hidden = state.jobs.length > 0;
  $('jobs-table').hidden = state.jobs.length === 0;
  $('remove-all').disabled = state.jobs.length === 0;
}

async function download(j) {
  try {
    const t = await api('POST', `/jobs/download/${j.id}/ticket`);
    const a = el('a', { href: t.url, download: 'tsdb_dump.tar.gz', hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    toast(`Download failed: ${e.message}`, 'error');
  }
}

function confirmDialog(text, okLabel) {
  const d = $('confirm-dialog');
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  d.returnValue = '';
  d.showModal();
  $('confirm-cancel').focus();
  return new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true }));
}

async function removeJob(j) {
  const running = j.status === 'pending' || j.status === 'in_progress';
  const ok = await confirmDialog(
    running ? `Cancel the dump created ${fmtTime(j.create_at)}? Its partial files are removed.` : `Delete the dump created ${fmtTime(j.create_at)}? Its archive is removed from the file store.`,
    running ? 'Cancel dump' : 'Delete',
  );
  if (!ok) return;
  try {
    await api('DELETE', `/jobs/delete/${j.id}`);
    toast(running ? 'Dump cancelled.' : 'Dump deleted.');
  } catch (e) {
    if (e.status !== 404) toast(`Delete failed: ${e.message}`, 'error');
  }
  refresh();
}

async function removeAll() {
  const n = state.jobs.length;
  const ok = await confirmDialog(`Remove ${n === 1 ? 'the only dump' : `all ${n} dumps`}? Running dumps are cancelled and every archive is deleted.`, 'Remove all');
  if (!ok) return;
  try {
    const r = await api('DELETE', '/jobs/deleteAll');
    toast(`Removed ${r.deleted} dump${r.deleted === 1 ? '' : 's'}.`);
  } catch (e) {
    toast(`Remove all failed: ${e.message}`, 'error');
  }
  refresh();
}

// ---- create dialog ----------------------------------------------------------------------

function selectedPreset() {
  const r = document.querySelector('input[name="preset"]:checked');
  return r ? r.value : 'custom';
}

function applyPreset() {
  const p = selectedPreset();
  if (!(p in PRESETS)) return;
  const now = Math.ceil(Date.now() / 60000) * 60000;
  $('range-from').value = toLocalInput(now - PRESETS[p]);
  $('range-to').value = toLocalInput(now);
}

function dumpRequest() {
  const req = { min_t: fromLocalInput($('range-from').value), max_t: fromLocalInput($('range-to').value) };
  // Whole minutes shown: make "to" include its whole minute.
  if (Number.isFinite(req.max_t)) req.max_t += 59999;
  const instances = [...document.querySelectorAll('input[name="instance"]:checked')].map((c) => c.value);
  const groups = [...document.querySelectorAll('input[name="group"]:checked')].map((c) => c.value);
  if (instances.length) req.instances = instances;
  if (groups.length) req.groups = groups;
  return req;
}

function setEstimate(text, kind) {
  const e = $('estimate');
  e.textContent = text;
  e.className = `estimate ${kind || ''}`;
}

function queueEstimate() {
  clearTimeout(state.estimateTimer);
  $('create-submit').disabled = true;
  setEstimate('Estimating…', 'pending');
  state.estimateTimer = setTimeout(runEstimate, 250);
}

async function runEstimate() {
  const seq = ++state.estimateSeq;
  const req = dumpRequest();
  if (!Number.isFinite(req.min_t) || !Number.isFinite(req.max_t)) return setEstimate('Choose a start and an end.', 'error');
  if (req.min_t >= req.max_t) return setEstimate('The end must be after the start.', 'error');
  try {
    const est = await api('POST', '/jobs/estimate', req);
    if (seq !== state.estimateSeq) return;
    setEstimate(`Estimated size: about ${fmtBytes(est.bytes)} (${numFmt.format(est.blocks)} block${est.blocks === 1 ? '' : 's'}, ${numFmt.format(est.series)} series)`, 'ok');
    $('create-submit').disabled = false;
  } catch (e) {
    if (seq !== state.estimateSeq) return;
    setEstimate(e.message, 'error');
  }
}

function openCreate() {
  const instances = [...new Set(state.targets.map((t) => t.instance))].sort();
  const box = $('instances');
  box.replaceChildren(...instances.map((i) => el('label', {}, el('input', { type: 'checkbox', name: 'instance', value: i }), ` ${i}`)));
  $('instances-fieldset').hidden = instances.length === 0;
  for (const g of document.querySelectorAll('input[name="group"]')) g.checked = false;
  const r = dataRange(state.stats);
  $('create-data-range').textContent = r ? `Stored data covers ${fmtTime(r.min)} to ${fmtTime(r.max)}.` : 'No data is stored yet.';
  document.querySelector('input[name="preset"][value="day"]').checked = true;
  applyPreset();
  $('create-error').textContent = '';
  $('create-dialog').showModal();
  queueEstimate();
}

async function submitCreate(ev) {
  ev.preventDefault();
  const btn = $('create-submit');
  btn.disabled = true;
  $('create-error').textContent = '';
  try {
    const job = await api('POST', '/jobs/create', dumpRequest());
    $('create-dialog').close();
    toast('Dump started. It appears in the table below.');
    state.jobs = [job, ...state.jobs.filter((j) => j.id !== job.id)];
    renderJobs();
    refresh();
  } catch (e) {
    $('create-error').textContent = e.message;
    btn.disabled = false;
  }
}

// ---- targets ----------------------------------------------------------------------------

function renderTargets() {
  const ts = state.targets;
  const up = ts.filter((t) => t.health === 'up').length;
  const down = ts.filter((t) => t.health === 'down').length;
  $('targets-summary').textContent = `${ts.length} target${ts.length === 1 ? '' : 's'} · ${up} up · ${down} down`;
  $('targets-body').replaceChildren(
    ...ts.map((t) =>
      el('tr', { 'data-health': t.health },
        el('td', {}, el('div', { text: t.instance }), el('div', { class: 'small muted', text: t.scrape_url })),
        el('td', { text: t.job }),
        el('td', {}, el('span', { class: `badge health-${t.health}`, text: t.health === 'up' ? 'Up' : t.health === 'down' ? 'Down' : 'Unknown' })),
        el('td', {}, t.last_scrape > 0 ? el('time', { datetime: new Date(t.last_scrape).toISOString(), title: fmtTime(t.last_scrape), text: fmtAgo(t.last_scrape) }) : 'never'),
        el('td', { class: 'num', text: fmtDuration(t.last_scrape_duration) }),
        el('td', { class: 'num', text: numFmt.format(t.last_samples || 0) }),
        el('td', { class: t.last_error ? 'error-text small' : 'muted', text: t.last_error || '–', title: t.last_error || null }),
      ),
    ),
  );
  $('targets-empty').hidden = ts.length > 0;
  $('targets-table').hidden = ts.length === 0;
}

// ---- start ------------------------------------------------------------------------------

async function login(ev) {
  ev.preventDefault();
  const token = $('token').value.trim();
  if (!token) {
    $('login-error').textContent = 'Enter the admin token.';
    return;
  }
  $('login-submit').disabled = true;
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.removeItem(LOGGED_OUT_KEY);
  try {
    await api('GET', '/tsdb/stats');
    enterApp();
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('login-error').textContent = e.status === 401 || e.status === 403 ? `Not accepted: ${e.message}` : e.message;
  } finally {
    $('login-submit').disabled = false;
  }
}

function logout() {
  sessionStorage.setItem(LOGGED_OUT_KEY, '1');
  showLogin('You are signed out.');
}

async function init() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('new-dump').addEventListener('click', openCreate);
  $('remove-all').addEventListener('click', removeAll);
  $('create-form').addEventListener('submit', submitCreate);
  $('create-cancel').addEventListener('click', () => $('create-dialog').close());
  for (const r of document.querySelectorAll('input[name="preset"]')) r.addEventListener('change', () => { applyPreset(); queueEstimate(); });
  for (const id of ['range-from', 'range-to']) {
    $(id).addEventListener('input', () => {
      document.querySelector('input[name="preset"][value="custom"]').checked = true;
      queueEstimate();
    });
  }
  $('create-form').addEventListener('change', (e) => {
    if (e.target.name === 'instance' || e.target.name === 'group') queueEstimate();
  });
  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.authed) refresh();
  });

  if (sessionStorage.getItem(LOGGED_OUT_KEY) && !sessionStorage.getItem(TOKEN_KEY)) return showLogin('');
  try {
    await api('GET', '/tsdb/stats');
    enterApp();
  } catch (e) {
    showLogin(e.status === 401 ? '' : e.message);
  }
}

init();
