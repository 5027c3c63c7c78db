// @ts-check
// Chats: the list with unread counts, one chat's messages with read receipts, photos, and sending
// through the outbox. The history is held by sequence per chat; a gap (a dropped socket, another
// site) is filled by reading the history after the highest contiguous sequence held, and the
// realtime resume names those sequences so the node sends what was missed.
import { byId, el, input, renderKeyed, showError } from '../../core/dom.js';
import { prefs } from '../../core/prefs.js';
import { requestId } from '../../core/transport.js';

/** @typedef {import('../../core/context.js').Context} Context */
/** @typedef {import('../../core/context.js').UserView} UserView */
/**
 * @typedef {{ chatId: string, sequence: number, senderId: string, requestId?: string, kind?: string, text?: string | null,
 *   photoId?: string | null, userIds?: string[], sentAt: string, money?: { envelopeId: string, amount: number } | null,
 *   gift?: { voucherId: string, product: string, shop: string, price: number } | null }} MessageView
 */
/** @typedef {{ id: string, title?: string | null, members: UserView[], lastSequence: number, lastMessage?: MessageView | null, unread: number }} ChatView */
/** @typedef {{ delivered: number, read: number }} Receipt */

const strings = {
  en: {
    chats: 'Chats', newChat: 'New chat with', groupTitle: 'Group name (for three or more)', startChat: 'Start chat',
    message: 'Message', photo: 'Photo', send: 'Send', sending: 'Sending', notSent: 'waiting to be sent', read: 'read',
    unread: 'unread', none: 'No chats yet', joined: 'joined', left: 'left',
    tooLong: 'The message is too long.', photoNotKept: 'This browser could not keep the photo to send it.',
    photoTooLarge: 'The photo is too large.', photoType: 'Photos are JPEG, PNG, GIF or WebP.',
  },
  ko: {
    chats: '채팅', newChat: '새 채팅 상대', groupTitle: '그룹 이름 (3명 이상)', startChat: '채팅 시작', message: '메시지',
    photo: '사진', send: '보내기', sending: '보내는 중', notSent: '전송 대기', read: '읽음', unread: '안 읽음',
    none: '채팅이 없습니다', joined: '님이 들어왔습니다', left: '님이 나갔습니다',
    tooLong: '메시지가 너무 깁니다.', photoNotKept: '이 브라우저에 사진을 보관할 수 없어 보낼 수 없습니다.',
    photoTooLarge: '사진이 너무 큽니다.', photoType: '사진은 JPEG, PNG, GIF, WebP만 됩니다.',
  },
};

/**
 * @param {Context} ctx
 * @param {ReturnType<typeof import('../friends/friends.js').friends>} friends
 * @param {ReturnType<typeof import('../pay/pay.js').pay>} wallet money in chats: sending it, and its messages
 * @param {ReturnType<typeof import('../gifts/gifts.js').gifts>} gifts gift vouchers in chats: buying one, and its messages
 */
export function chat(ctx, friends, wallet, gifts) {
  ctx.i18n.add(strings);
  const t = (/** @type {string} */ key) => ctx.t(key);
  /** @type {Map<string, ChatView>} */
  const chats = new Map();
  /** @type {Map<string, Map<number, MessageView>>} chat id -> sequence -> message */
  const messages = new Map();
  /** @type {Map<string, number>} chat id -> highest contiguous sequence held */
  const last = new Map();
  /** @type {Map<string, Map<string, Receipt>>} chat id -> user id -> receipt */
  const receipts = new Map();
  /** @type {Map<string, string>} photo id -> object URL */
  const photos = new Map();
  /** @type {string | null} the chat that is open */
  let open = null;

  const list = byId('messages');
  const draft = byId('draft', HTMLTextAreaElement);
  const chatError = byId('chat-error');

  async function loadChats() {
    /** @type {ChatView[]} */
    const answer = await ctx.api('GET', '/api/chats');
    for (const view of answer) {
      chats.set(view.id, view);
      for (const member of view.members) ctx.people.set(member.id, member);
      if (!last.has(view.id)) last.set(view.id, 0);
    }
    renderChats();
  }

  /** @param {ChatView} view */
  function chatName(view) {
    if (view.title) return view.title;
    const me = ctx.user;
    return view.members.filter((m) => m.id !== me.id).map((m) => ctx.nameOf(m.id, m.displayName)).join(', ') || me.displayName;
  }

  /** @param {ChatView} view */
  function unreadOf(view) {
    const mine = receipts.get(view.id)?.get(ctx.user.id)?.read;
    return mine === undefined ? view.unread : Math.max(0, view.lastSequence - mine);
  }

  function renderChats() {
    const host = byId('chat-list');
    const sorted = [...chats.values()].sort((a, b) => (b.lastMessage?.sentAt ?? '').localeCompare(a.lastMessage?.sentAt ?? ''));
    renderKeyed(host, sorted, (view) => view.id, (view) => JSON.stringify([chatName(view), unreadOf(view), view.id === open, ctx.i18n.lang]), (view) => {
      const button = el('button', { type: 'button', className: 'chat-item', textContent: chatName(view) });
      button.dataset.chat = view.id;
      if (view.id === open) button.setAttribute('aria-current', 'true');
      const unread = unreadOf(view);
      if (unread > 0) {
        const badge = el('span', { className: 'badge', textContent: String(unread) });
        badge.setAttribute('aria-label', `${unread} ${t('unread')}`);
        button.append(' ', badge);
      }
      button.addEventListener('click', () => ctx.router.go(`#/chats/${view.id}`));
      return el('li', {}, button);
    });
    if (sorted.length === 0) host.append(el('li', { textContent: t('none') }));
  }

  /** @param {string} chatId */
  async function openChat(chatId) {
    if (!chats.has(chatId)) await loadChats();
    const view = chats.get(chatId);
    if (!view) { ctx.router.go('#/'); return; }
    open = chatId;
    byId('chat').hidden = false;
    byId('chat-title-h').textContent = chatName(view);
    byId('chat-members').textContent = view.members.map((m) => ctx.nameOf(m.id, m.displayName)).join(' · ');
    // Money goes to one person: offered in a chat of two.
    byId('send-money-form').hidden = view.members.length !== 2;
    byId('send-gift-form').hidden = view.members.length !== 2;
    if (view.members.length === 2) loadProducts();
    draft.value = prefs.get(`draft.${chatId}`, '');
    renderChats();
    await catchUp(chatId);
    await loadReceipts(chatId);
    if (open !== chatId) return;
    renderChats();
    renderMessages();
    markRead(chatId);
  }

  // History after what is held, page by page: the same call fills any gap a dropped socket left.
  /** @param {string} chatId */
  async function catchUp(chatId) {
    for (let pages = 0; pages < 50; pages++) {
      const after = last.get(chatId) ?? 0;
      /** @type {{ messages: MessageView[], senders?: UserView[], lastSequence: number }} */
      const page = await ctx.api('GET', `/api/chats/${chatId}/messages?after=${after}&limit=200`);
      for (const sender of page.senders ?? []) ctx.people.set(sender.id, sender);
      for (const message of page.messages) hold(message);
      if (page.messages.length === 0 || (last.get(chatId) ?? 0) >= page.lastSequence) break;
    }
  }

  /** @param {string} chatId */
  async function loadReceipts(chatId) {
    /** @type {{ members: { userId: string, delivered: number, read: number }[] }} */
    const answer = await ctx.api('GET', `/api/chats/${chatId}/receipts`);
    receipts.set(chatId, new Map(answer.members.map((m) => [m.userId, { delivered: m.delivered, read: m.read }])));
  }

  /** @param {MessageView} message */
  function hold(message) {
    let held = messages.get(message.chatId);
    if (!held) messages.set(message.chatId, held = new Map());
    held.set(message.sequence, message);
    let upTo = last.get(message.chatId) ?? 0;
    while (held.has(upTo + 1)) upTo++;
    last.set(message.chatId, upTo);
    const view = chats.get(message.chatId);
    if (view && message.sequence > view.lastSequence) { view.lastSequence = message.sequence; view.lastMessage = message; }
    if (message.requestId) ctx.outbox.settle(message.requestId);
  }

  /** @param {MessageView} message @param {Map<string, Receipt>} seen @param {ChatView | undefined} view */
  function metaOf(message, seen, view) {
    const time = new Date(message.sentAt).toLocaleTimeString(ctx.i18n.lang === 'ko' ? 'ko-KR' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
    if (message.senderId !== ctx.user.id) return time;
    const unreadBy = (view?.members ?? []).filter((m) => m.id !== message.senderId && (seen.get(m.id)?.read ?? 0) < message.sequence).length;
    return `${time} · ${unreadBy > 0 ? `${unreadBy} ${t('unread')}` : t('read')}`;
  }

  /** @param {MessageView} message */
  function systemText(message) {
    const names = (message.userIds ?? []).map((id) => ctx.nameOf(id)).join(', ');
    return `${names} ${t(message.kind === 'Joined' ? 'joined' : 'left')}`;
  }

  function renderMessages() {
    const chatId = open;
    if (!chatId) return;
    const view = chats.get(chatId);
    const seen = receipts.get(chatId) ?? new Map();
    // Where the reader is: at the end (follow new messages) or further up (stay there). A chat just opened starts at its end.
    const switched = list.dataset.chat !== chatId;
    if (switched) list.replaceChildren();
    const atEnd = switched || list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.dataset.chat = chatId;
    const held = [...(messages.get(chatId)?.values() ?? [])].sort((a, b) => a.sequence - b.sequence);
    /** @type {({ key: string, message: MessageView } | { key: string, pending: { text: string } })[]} */
    const items = [
      ...held.map((message) => ({ key: `m${message.sequence}`, message })),
      ...ctx.outbox.of('message').filter((e) => e.body.chatId === chatId).map((e) => ({ key: `p${e.id}`, pending: { text: e.body.text || t('photo') } })),
      ...wallet.unsent(chatId).map((e) => ({ key: `p${e.id}`, pending: { text: e.text } })),
      ...gifts.unsent(chatId).map((e) => ({ key: `p${e.id}`, pending: { text: e.text } })),
    ];
    renderKeyed(list, items, (item) => item.key, (item) => {
      if ('pending' in item) return JSON.stringify([item.pending.text, ctx.i18n.lang]);
      const m = item.message;
      const system = m.kind === 'Joined' || m.kind === 'Left';
      return JSON.stringify(system ? [systemText(m)] : [ctx.nameOf(m.senderId), m.text, m.photoId, metaOf(m, seen, view), m.money ? wallet.keyOf(m) : null, m.gift ? gifts.keyOf(m) : null]);
    }, (item) => {
      if ('pending' in item) {
        return el('li', { className: 'mine pending' }, el('p', { className: 'text', textContent: item.pending.text }), el('span', { className: 'meta', textContent: t('notSent') }));
      }
      const m = item.message;
      const line = el('li', { className: m.senderId === ctx.user.id ? 'mine' : 'theirs' });
      line.dataset.sequence = String(m.sequence);
      if (m.kind === 'Joined' || m.kind === 'Left') {
        line.className = 'system';
        line.textContent = systemText(m);
        return line;
      }
      const who = ctx.nameOf(m.senderId);
      line.append(el('span', { className: 'who', textContent: who }));
      if (m.text) line.append(el('p', { className: 'text', textContent: m.text }));
      if (m.photoId) line.append(photoElement(m.photoId, `${who}: ${t('photo')}`));
      if (m.kind === 'Money') line.append(wallet.element(m));
      if (m.kind === 'Gift') line.append(gifts.element(m));
      line.append(el('span', { className: 'meta', textContent: metaOf(m, seen, view) }));
      return line;
    });
    // Only the list scrolls, never the page: scrolling an item into view would move the whole page under a
    // phone's reader (and under a finger on the send button) on every message and receipt.
    if (atEnd) list.scrollTop = list.scrollHeight;
  }

  /** @param {string} photoId @param {string} alt */
  function photoElement(photoId, alt) {
    const image = el('img', { alt, className: 'photo' });
    const cached = photos.get(photoId);
    if (cached) { image.src = cached; return image; }
    ctx.api('GET', `/api/photos/${photoId}`).then((/** @type {Blob} */ blob) => {
      const url = URL.createObjectURL(blob);
      photos.set(photoId, url);
      image.src = url;
    }).catch(() => { image.alt = `${alt} (unavailable)`; });
    return image;
  }

  /** @param {string} chatId */
  async function markRead(chatId) {
    const upTo = last.get(chatId) ?? 0;
    if (upTo === 0 || document.hidden) return;
    try {
      await ctx.api('POST', `/api/chats/${chatId}/read`, { sequence: upTo });
      const seen = receipts.get(chatId) ?? new Map();
      seen.set(ctx.user.id, { delivered: upTo, read: upTo });
      receipts.set(chatId, seen);
      renderChats();
    } catch { /* the next message marks it again */ }
  }

  // ---- sending: the outbox survives reloads and site losses; each entry keeps its request id ----

  function saveDraft() {
    if (open) prefs.set(`draft.${open}`, draft.value);
  }

  function renderOutbox() {
    const pending = ctx.outbox.of('message').length + ctx.outbox.of('envelope').length + ctx.outbox.of('gift').length;
    byId('outbox').textContent = pending > 0 ? `${t('sending')}: ${pending}` : '';
    if (ctx.me) renderMessages();
  }

  ctx.outbox.register('message', async (entry, keep) => {
    const { chatId, text } = entry.body;
    /** @type {Blob | null} */
    const photo = entry.body.photo ?? null;
    let photoId = entry.body.photoId ?? null;
    if (photo && !photoId) {
      photoId = (await ctx.api('POST', '/api/photos', photo, { id: `${entry.id}p`, raw: true, contentType: photo.type })).id;
      // The photo is stored: a retry sends only the message.
      await keep({ chatId, text, photoId, photo: null });
    }
    // Over the realtime socket when it is live (one hop, no request to authenticate), else over HTTP: the
    // same request id either way, so a send that went out on a socket that then dropped is stored once.
    const body = { text: text || null, photoId };
    hold(ctx.realtime.live
      ? await ctx.realtime.send({ requestId: entry.id, chatId, ...body })
      : await ctx.api('POST', `/api/chats/${chatId}/messages`, body, { id: entry.id }));
    renderChats();
  });
  ctx.outbox.onChange(renderOutbox);
  ctx.outbox.onRefused = (_entry, error) => showError(byId('side-error'), error);

  /** @param {Event} event */
  async function send(event) {
    event.preventDefault();
    const chatId = open;
    const text = draft.value.trim();
    const file = input('photo').files?.[0];
    if (!chatId || (!text && !file)) return;
    const limits = ctx.limits;
    if (limits && new TextEncoder().encode(text).length > limits.messageTextBytes) { chatError.textContent = t('tooLong'); return; }
    if (file && limits && file.size > limits.photoBytes) { chatError.textContent = t('photoTooLarge'); return; }
    if (file && limits && !limits.photoTypes.includes(file.type)) { chatError.textContent = t('photoType'); return; }
    chatError.textContent = '';
    // Into the outbox before the draft is cleared: from here on, a lost site cannot lose it.
    try {
      await ctx.outbox.add(requestId(), 'message', { chatId, text, photoId: null, photo: file ?? null });
    } catch {
      chatError.textContent = t('photoNotKept');
      return;
    }
    draft.value = '';
    input('photo').value = '';
    saveDraft();
  }

  // The gift picker: the products on sale, with their prices (asked for when a chat of two opens).
  async function loadProducts() {
    try {
      const products = await gifts.products();
      const pick = byId('gift-product', HTMLSelectElement);
      const chosen = pick.value;
      pick.replaceChildren(...products.map((p) => el('option', { value: p.id, textContent: `${p.name} · ${p.shop} · ₩${p.price.toLocaleString('ko-KR')}` })));
      if (products.some((p) => p.id === chosen)) pick.value = chosen;
    } catch (e) { showError(chatError, e); }
  }

  /** @param {Event} event */
  async function sendGift(event) {
    event.preventDefault();
    const view = open ? chats.get(open) : undefined;
    const to = view?.members.find((m) => m.id !== ctx.user.id);
    const productId = byId('gift-product', HTMLSelectElement).value;
    if (!view || !to || !productId) return;
    chatError.textContent = '';
    try {
      await gifts.send(view.id, to.id, productId);
    } catch (e) { showError(chatError, e); }
  }

  /** @param {Event} event */
  async function sendMoney(event) {
    event.preventDefault();
    const view = open ? chats.get(open) : undefined;
    const to = view?.members.find((m) => m.id !== ctx.user.id);
    const amount = Number(input('money-amount').value);
    if (!view || !to || !Number.isSafeInteger(amount) || amount < 1) return;
    chatError.textContent = '';
    try {
      await wallet.send(view.id, to.id, amount);
      input('money-amount').value = '';
    } catch (e) { showError(chatError, e); }
  }

  async function newChat(/** @type {Event} */ event) {
    event.preventDefault();
    const picked = friends.picked();
    if (picked.length === 0) return;
    const error = byId('side-error');
    error.textContent = '';
    try {
      const title = input('chat-title').value.trim() || null;
      /** @type {ChatView} */
      const view = await ctx.api('POST', '/api/chats', { memberIds: picked.map((box) => box.value), title }, { id: requestId() });
      chats.set(view.id, view);
      if (!last.has(view.id)) last.set(view.id, 0);
      for (const box of picked) box.checked = false;
      input('chat-title').value = '';
      // The node tells this device's socket of the new chat by itself (a membership event): no reconnect, no other site.
      ctx.router.go(`#/chats/${view.id}`);
    } catch (e) { showError(error, e); }
  }

  // ---- realtime ----

  ctx.realtime.resumeWith(() => ({ chats: Object.fromEntries(last) }));
  ctx.realtime.onReconnect(() => {
    // Anything the old socket did not deliver comes with the resume; the open chat also re-reads its history.
    if (open) catchUp(open).then(renderMessages).catch(() => {});
    ctx.outbox.flush();
  });
  ctx.realtime.on('message', async (/** @type {{ message: MessageView }} */ { message }) => {
    if (!chats.has(message.chatId)) await loadChats();
    if (message.sequence > (last.get(message.chatId) ?? 0) + 1) await catchUp(message.chatId);
    hold(message);
    renderChats();
    if (message.chatId === open) { renderMessages(); markRead(message.chatId); }
  });
  // A chat started with this person, maybe without a message yet.
  ctx.realtime.on('chat', () => loadChats().catch(() => {}));
  ctx.realtime.on('receipt', (/** @type {{ receipt: { chatId: string, userId: string } & Receipt }} */ { receipt }) => {
    const seen = receipts.get(receipt.chatId) ?? new Map();
    seen.set(receipt.userId, { delivered: receipt.delivered, read: receipt.read });
    receipts.set(receipt.chatId, seen);
    if (receipt.chatId === open) renderMessages();
    renderChats();
  });
  ctx.realtime.on('live', async () => {
    // The socket is (re)connected. Messages missed while it was down came with the resume; read
    // receipts and unread counts that changed meanwhile are read again.
    await loadChats();
    if (open) { await loadReceipts(open); renderMessages(); }
  });

  // ---- routes, forms, and the receipts a lost frame would have brought ----

  ctx.router.add(/^#\/chats\/([A-Za-z0-9_-]+)$/, (match) => openChat(match[1]));
  ctx.router.onLeave(() => {
    saveDraft();
    open = null;
    byId('chat').hidden = true;
  });
  ctx.onRender(() => { if (ctx.me) { renderChats(); renderMessages(); } });
  byId('new-chat-form').addEventListener('submit', newChat);
  byId('composer').addEventListener('submit', send);
  byId('send-money-form').addEventListener('submit', sendMoney);
  byId('send-gift-form').addEventListener('submit', sendGift);
  wallet.onChange(() => { if (open) renderMessages(); });
  gifts.onChange(() => { if (open) renderMessages(); });
  draft.addEventListener('input', saveDraft);
  draft.addEventListener('keydown', (event) => { if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) send(event); });
  document.addEventListener('visibilitychange', () => { if (open) markRead(open); });
  setInterval(async () => {
    const chatId = open;
    if (!chatId || document.hidden) return;
    const before = JSON.stringify([...(receipts.get(chatId) ?? new Map())]);
    try { await loadReceipts(chatId); } catch { return; }
    if (JSON.stringify([...(receipts.get(chatId) ?? new Map())]) !== before) renderMessages();
  }, 5000);

  return {
    load: loadChats,
    /** Applies the node's limits to the chat forms. @param {import('../../core/context.js').Limits} limits */
    limit(limits) {
      input('chat-title').maxLength = limits.chatTitleLength;
      input('photo').accept = limits.photoTypes.join(',');
    },
  };
}
