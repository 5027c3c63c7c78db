// @ts-check
// What every feature of the web app is given: the transport, the language, the outbox, the realtime
// socket, the routes, and who is signed in (with everyone as they appear to that person).
import { I18n } from './i18n.js';
import { Outbox } from './outbox.js';
import { prefs } from './prefs.js';
import { Realtime } from './realtime.js';
import { Router } from './router.js';
import { Transport } from './transport.js';

/** @typedef {{ id: string, displayName: string, statusMessage?: string | null, photoId?: string | null }} UserView */
/** @typedef {{ accessToken: string, expiresAt: string, userId: string }} Token */
/**
 * What the node accepts (GET /api/limits): the numbers live on the node only.
 * @typedef {{ displayNameLength: number, passwordMinLength: number, passwordMaxLength: number, statusLength: number,
 *   extraProfiles: number, messageTextBytes: number, chatTitleLength: number, chatMembers: number, photoBytes: number,
 *   photoTypes: string[] }} Limits
 */

export class Context {
  constructor() {
    this.i18n = new I18n();
    this.transport = new Transport({ storageKey: 'haetae.sites', describe: (status, problem) => this.i18n.describe(status, problem) });
    this.outbox = new Outbox();
    this.realtime = new Realtime(this.transport);
    this.router = new Router();
    this.token = prefs.get('token', /** @type {Token | null} */ (null));
    this.transport.token = this.token?.accessToken ?? null;
    /** @type {UserView | null} who is signed in */
    this.me = null;
    /** @type {Map<string, UserView>} everyone as the signed-in person sees them */
    this.people = new Map();
    /** @type {Limits | null} */
    this.limits = null;
    /** @type {(() => void)[]} */
    this.renderers = [];
  }

  /** @param {string} key */
  t(key) { return this.i18n.t(key); }

  /**
   * A call to the platform (see Transport.send).
   * @param {string} method @param {string} path @param {unknown} [body]
   * @param {{ id?: string, raw?: boolean, contentType?: string }} [options]
   */
  api(method, path, body, options) { return this.transport.send(method, path, body, options); }

  /** The signed-in person (only called once someone is). */
  get user() {
    if (!this.me) throw new Error('nobody is signed in');
    return this.me;
  }

  /** @param {string} id @param {string} [fallback] */
  nameOf(id, fallback) { return this.people.get(id)?.displayName ?? fallback ?? id; }

  /** @param {() => void} renderer re-draws a view after people, receipts or the language changed */
  onRender(renderer) { this.renderers.push(renderer); }

  render() { for (const renderer of this.renderers) renderer(); }
}
