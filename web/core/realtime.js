// @ts-check
// One realtime socket per page, at whichever site answers. On (re)connecting it sends a resume frame
// that the features fill (chat: the sequence held per chat), and the node sends what was missed.
// Frames are dispatched by their type to the feature that registered it. Once live, messages can be
// sent over the same socket (a send frame with its request id, answered with "sent" or "refused").
import { ApiError, sleep } from './transport.js';

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
    /** Whether the socket has caught up (a "live" frame came): sends go over it from then on. */
    this.live = false;
    /** @type {Map<string, { resolve: (frame: Frame) => void, reject: (error: unknown) => void }>} sends waiting for their answer, by request id */
    this.answers = new Map();
  }

  /**
   * Sends a message over the socket and waits for its answer: the stored message. A refusal is an ApiError
   * with the platform's status; a socket that drops or does not answer in 10 s is an ApiError 503, and the
   * caller (the outbox) sends it again with the same request id, over the next socket or over HTTP.
   * @param {{ requestId: string, chatId: string, text?: string | null, photoId?: string | null }} send
   * @returns {Promise<any>}
   */
  send(send) {
    const socket = this.socket;
    if (!socket || !this.live || socket.readyState !== WebSocket.OPEN) return Promise.reject(new ApiError(503, null, 'not connected'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.answers.delete(send.requestId); reject(new ApiError(503, null, 'no answer over the socket')); }, 10_000);
      this.answers.set(send.requestId, {
        resolve: (frame) => { clearTimeout(timer); resolve(frame.message); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      });
      socket.send(JSON.stringify({ type: 'send', ...send }));
    });
  }

  /** @param {Frame} frame */
  #answered(frame) {
    const waiting = this.answers.get(frame.requestId);
    if (!waiting) return;
    this.answers.delete(frame.requestId);
    if (frame.type === 'sent') waiting.resolve(frame);
    else waiting.reject(new ApiError(frame.status, { title: frame.title, detail: frame.detail }, frame.detail ?? frame.title));
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
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === 'live') this.live = true;
      if (frame.type === 'sent' || frame.type === 'refused') { this.#answered(frame); return; }
      this.#dispatch(frame);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.live = false;
      for (const waiting of this.answers.values()) waiting.reject(new ApiError(503, null, 'the socket dropped'));
      this.answers.clear();
      this.#reconnect();
    };
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
