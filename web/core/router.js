// @ts-check
// Hash routes (#/chats/c…, #/profiles): the address says what is open, so a reload or a shared link
// opens the same thing. Features register their routes; the first that matches handles the hash.

/** @typedef {(match: RegExpMatchArray) => void | Promise<void>} Route */

export class Router {
  constructor() {
    /** @type {{ pattern: RegExp, route: Route }[]} */
    this.routes = [];
    /** @type {(() => void)[]} called before another route takes the page */
    this.leaving = [];
  }

  /** @param {RegExp} pattern @param {Route} route */
  add(pattern, route) { this.routes.push({ pattern, route }); }

  /** @param {() => void} listener */
  onLeave(listener) { this.leaving.push(listener); }

  /** Goes to a route (a hash such as '#/profiles'); the same route again is handled again. @param {string} hash */
  go(hash) {
    if (location.hash === hash) this.run();
    else location.hash = hash;
  }

  start() {
    addEventListener('hashchange', () => this.run());
    return this.run();
  }

  async run() {
    for (const listener of this.leaving) listener();
    const hash = location.hash || '#/';
    for (const { pattern, route } of this.routes) {
      const match = hash.match(pattern);
      if (match) { await route(match); return; }
    }
  }
}
