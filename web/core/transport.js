// @ts-check
// The one way the web app and the console reach the platform: every site, the one this page came
// from first. A connection failure, a time-out or a 5xx moves on to the next site with the same
// request id (so a retried write is stored once); a 4xx is an answer.

/** @typedef {{ name: string, url: string }} Site */
/** @typedef {{ status?: number, title?: string, detail?: string }} Problem */

/** A refusal by the platform (4xx), or no site answering (5xx), with a message for people. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Problem | null} problem
   * @param {string} message
   */
  constructor(status, problem, message) {
    super(message);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * A new request id: 32 of [0-9a-f], within the node's rule (1 to 64 of [A-Za-z0-9_-]). From
 * getRandomValues, which every page has (randomUUID only a secure one).
 */
export function requestId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A pause of `ms` milliseconds (between rounds of tries). */
export const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @typedef {object} TransportOptions
 * @property {string} storageKey where the sites last known are kept (the page still works when its own site is gone)
 * @property {number} [timeoutMs] how long one attempt at one site may take
 * @property {number} [rounds] how many times every site is tried before giving up
 * @property {(status: number, problem: Problem | null) => string} [describe] the message of a refusal, in the page's language
 */

export class Transport {
  /** @param {TransportOptions} options */
  constructor(options) {
    this.options = { timeoutMs: 8000, rounds: 3, describe: defaultDescribe, ...options };
    /** @type {Site[]} */
    this.sites = [];
    /** The index of the site calls go to now. */
    this.site = 0;
    /** @type {string | null} the bearer token calls carry */
    this.token = null;
    /** @type {(site: Site) => void} called when calls move to another site */
    this.onSiteChange = () => {};
    /** @type {() => void} called when the platform no longer takes the token */
    this.onUnauthorized = () => {};
  }

  /** The site calls go to now. */
  get current() {
    return this.sites[this.site];
  }

  /** Learns every site from the one this page came from (or, if it is gone, from the last list kept). */
  async discover() {
    try {
      const response = await fetch('/api/sites', { signal: AbortSignal.timeout(this.options.timeoutMs) });
      /** @type {{ site: string, sites: Site[] }} */
      const here = await response.json();
      const sites = here.sites.length > 0 ? here.sites : [{ name: here.site, url: location.origin }];
      // The site the page came from first, then the others in their order.
      const index = Math.max(0, sites.findIndex((s) => s.url === location.origin));
      this.sites = [...sites.slice(index), ...sites.slice(0, index)];
      localStorage.setItem(this.options.storageKey, JSON.stringify(this.sites));
    } catch {
      /** @type {Site[]} */
      let known = [];
      try { known = JSON.parse(localStorage.getItem(this.options.storageKey) ?? '[]'); } catch { /* none kept */ }
      this.sites = known.length > 0 ? known : [{ name: location.host, url: location.origin }];
    }
  }

  /** Moves calls (and the realtime socket) to the next site. */
  next() {
    this.site = (this.site + 1) % this.sites.length;
    this.onSiteChange(this.sites[this.site]);
  }

  /**
   * One call: JSON in and out (a blob for other content), a ProblemDetails refusal as an ApiError.
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body] sent as JSON, or as it is with `raw`
   * @param {{ id?: string, raw?: boolean, contentType?: string }} [options] `id`: the request id that makes a retried write count once
   * @returns {Promise<any>}
   */
  async send(method, path, body, { id, raw, contentType } = {}) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (id) headers['Haetae-Request-Id'] = id;
    if (raw && contentType) headers['Content-Type'] = contentType;
    else if (body !== undefined) headers['Content-Type'] = 'application/json';
    const payload = raw ? /** @type {BodyInit} */ (body) : body === undefined ? undefined : JSON.stringify(body);
    const response = await this.fetch(path, { method, headers, body: payload });
    if (response.status === 401 && this.token) {
      this.onUnauthorized();
      throw new ApiError(401, null, this.options.describe(401, null));
    }
    const type = response.headers.get('content-type') || '';
    const answer = type.includes('json') ? await response.json() : response.status === 204 ? null : await response.blob();
    if (!response.ok) throw new ApiError(response.status, answer, this.options.describe(response.status, answer));
    return answer;
  }

  /**
   * The failover itself: the first answer below 500 from any site, trying each in turn for a few rounds.
   * @param {string} path
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  async fetch(path, init = {}) {
    /** @type {unknown} */
    let lastError = null;
    const count = Math.max(1, this.sites.length);
    for (let attempt = 0; attempt < count * this.options.rounds; attempt++) {
      const index = (this.site + attempt) % count;
      const base = this.sites[index]?.url ?? '';
      try {
        const response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(this.options.timeoutMs) });
        if (response.status < 500) {
          if (index !== this.site) { this.site = index; this.onSiteChange(this.sites[index]); }
          return response;
        }
        lastError = new ApiError(response.status, null, this.options.describe(response.status, null));
      } catch (error) {
        lastError = error;
      }
      if (attempt % count === count - 1) await sleep(500);
    }
    throw lastError instanceof ApiError ? lastError : new ApiError(503, null, this.options.describe(503, null));
  }
}

/** @param {number} status @param {Problem | null} problem */
function defaultDescribe(status, problem) {
  return problem?.detail ?? problem?.title ?? (status >= 500 ? 'No site answered; try again.' : `HTTP ${status}`);
}
