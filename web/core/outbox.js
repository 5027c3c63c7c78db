// @ts-check
// What is being sent, kept in IndexedDB until the platform has acknowledged it: whole entries, photos
// included (localStorage holds about 5 MB in all, as text; a photo may be 10 MiB). Each entry keeps its
// request id, so sending it again, at another site, after a reload or a fire, stores it once. Entries
// go out one at a time in the order they were made; each feature says how its kind of entry is sent.
import { ApiError, sleep } from './transport.js';

/**
 * @typedef {object} Entry
 * @property {string} id the request id
 * @property {string} kind which sender takes it
 * @property {number} made when it was made (the order entries go out in)
 * @property {Record<string, any>} body what the sender needs
 */

/** @typedef {(entry: Entry, keep: (body: Record<string, any>) => Promise<void>) => Promise<void>} Sender */

/** @param {IDBRequest} request @returns {Promise<any>} */
const done = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});

export class Outbox {
  constructor() {
    /** @type {IDBDatabase | null} */
    this.db = null;
    /** @type {Entry[]} the entries, in order (a copy of what IndexedDB holds, for rendering) */
    this.entries = [];
    /** @type {Map<string, Sender>} */
    this.senders = new Map();
    /** @type {(() => void)[]} */
    this.listeners = [];
    /** @type {(entry: Entry, error: ApiError) => void} an entry the platform refused for good */
    this.onRefused = () => {};
    this.flushing = false;
    /** Whether entries outlive the page (IndexedDB opened); without it they are kept in memory only. */
    this.kept = false;
  }

  /** Opens the store and reads what an earlier visit left unsent. */
  async open() {
    this.db = await new Promise((resolve, reject) => {
      const request = indexedDB.open('haetae', 2);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'id' });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    /** @type {Entry[]} */
    const entries = await done(this.#store('readonly').getAll());
    this.kept = true;
    this.entries = entries.sort((a, b) => a.made - b.made);
    await this.#migrate();
    this.#changed();
  }

  /** @param {string} kind @param {Sender} sender */
  register(kind, sender) { this.senders.set(kind, sender); }

  /** @param {() => void} listener */
  onChange(listener) { this.listeners.push(listener); }

  /** @param {string} kind */
  of(kind) { return this.entries.filter((e) => e.kind === kind); }

  /**
   * Keeps an entry; from the moment this resolves, losing a site or the page cannot lose it.
   * @param {string} id
   * @param {string} kind
   * @param {Record<string, any>} body
   */
  async add(id, kind, body) {
    const entry = { id, kind, made: Date.now(), body };
    await this.#put(entry);
    this.entries.push(entry);
    this.#changed();
    this.flush();
  }

  /** The platform has it (acknowledged, or seen arriving over the realtime socket). @param {string} id */
  async settle(id) {
    if (!this.entries.some((e) => e.id === id)) return;
    this.entries = this.entries.filter((e) => e.id !== id);
    this.#changed();
    if (this.kept) await done(this.#store('readwrite').delete(id)).catch(() => {});
  }

  /** Sends what is waiting, oldest first, until nothing is left; a refusal (4xx) drops the entry and says so. */
  async flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (let next = this.entries[0]; next; next = this.entries[0]) {
        const sender = this.senders.get(next.kind);
        if (!sender) { await this.settle(next.id); continue; }
        const entry = next;
        try {
          await sender(entry, async (body) => {
            entry.body = body;
            await this.#put(entry);
          });
          await this.settle(entry.id);
        } catch (error) {
          if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 401) {
            await this.settle(entry.id);
            this.onRefused(entry, error);
            continue;
          }
          await sleep(1000);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** @param {IDBTransactionMode} mode */
  #store(mode) {
    if (!this.db) throw new Error('the outbox is not open');
    return this.db.transaction('outbox', mode).objectStore('outbox');
  }

  /** @param {Entry} entry */
  async #put(entry) {
    if (this.kept) await done(this.#store('readwrite').put(entry));
  }

  #changed() {
    for (const listener of this.listeners) listener();
  }

  // Messages an earlier version of the app left in localStorage (their photos as base64 text, or by
  // the entry's id in the 'outbox-photos' store) become entries here, once.
  async #migrate() {
    const old = localStorage.getItem('haetae.outbox');
    if (!old || !this.db) return;
    /** @type {{ id: string, chatId: string, text?: string, photoId?: string, photo?: { type: string, data?: string } }[]} */
    let entries = [];
    try { entries = JSON.parse(old) ?? []; } catch { /* unreadable: nothing to move */ }
    const db = this.db;
    const kept = db.objectStoreNames.contains('outbox-photos');
    for (const [index, o] of entries.entries()) {
      /** @type {Blob | undefined} */
      let photo;
      if (o.photo?.data) photo = new Blob([Uint8Array.from(atob(o.photo.data), (c) => c.charCodeAt(0))], { type: o.photo.type });
      else if (o.photo && kept) photo = await done(db.transaction('outbox-photos').objectStore('outbox-photos').get(o.id)).catch(() => undefined);
      const entry = { id: o.id, kind: 'message', made: index, body: { chatId: o.chatId, text: o.text ?? '', photoId: o.photoId ?? null, photo } };
      await this.#put(entry);
      this.entries.unshift(entry);
    }
    this.entries.sort((a, b) => a.made - b.made);
    localStorage.removeItem('haetae.outbox');
  }
}
