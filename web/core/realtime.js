// @ts-check
// One realtime socket per page, at whichever site answers. On (re)connecting it sends a resume frame
// that the features fill (chat: the sequence held per chat), and the node sends what was missed.
// Frames are dispatched by their type to the feature that registered it.
import { sleep } from './transport.js';

/** @typedef {{ type: string, [field: string]: any }} Frame */
/** @typedef {(frame: any) => void | Promise<void>} FrameHandler */

export class Realtime {
  /** @param {import('./transport.js').Transport} transport */
  constructor(transport) {
    this.transport = transport;
    /** @type {Map<string, FrameHandler[]>} */
    this.handlers = new Map();
    /** @type {(() => Record<string, unknown>)[]} what each feature adds to the resume frame */
    this.resumers = [];
    /** @type {(() => void)[]} called when the socket dropped and a new one is on its way */
    this.reconnecting = [];
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {string | null} */
    this.token = null;
    this.waiting = false;
  }

  /** @param {string} type @param {FrameHandler} handler */
  on(type, handler) { this.handlers.set(type, [...(this.handlers.get(type) ?? []), handler]); }

  /** @param {() => Record<string, unknown>} resumer */
  resumeWith(resumer) { this.resumers.push(resumer); }

  /** @param {() => void} listener */
  onReconnect(listener) { this.reconnecting.push(listener); }

  /** @param {string} token */
  start(token) {
    this.token = token;
    this.#connect();
  }

  stop() {
    this.token = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close();
  }

  #connect() {
    if (!this.token) return;
    const site = this.transport.current;
    const url = `${site.url.replace(/^http/, 'ws')}/api/realtime?access_token=${encodeURIComponent(this.token)}`;
    /** @type {WebSocket} */
    let socket;
    try { socket = new WebSocket(url); } catch { this.#reconnect(); return; }
    this.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify(Object.assign({ type: 'resume' }, ...this.resumers.map((r) => r()))));
    };
    socket.onmessage = (event) => this.#dispatch(JSON.parse(event.data));
    socket.onclose = () => { if (this.socket === socket) this.#reconnect(); };
  }

  async #reconnect() {
    if (this.waiting || !this.token) return;
    this.waiting = true;
    for (const listener of this.reconnecting) listener();
    await sleep(300);
    this.waiting = false;
    this.transport.next();
    this.#connect();
  }

  /** @param {Frame} frame */
  async #dispatch(frame) {
    for (const handler of this.handlers.get(frame.type) ?? []) {
      try {
        await handler(frame);
      } catch { /* the next frame, or the next reconnect's resume, brings the page up to date */ }
    }
  }
}
