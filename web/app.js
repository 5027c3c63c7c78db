// Haetae web app: plain JavaScript, no build step, no server-side session. It knows every site, moves
// to the next one by itself when a call fails or the realtime socket drops, resumes by chat sequence,
// and keeps what is typed (drafts) and what is being sent (the outbox, with its request ids) in
// localStorage, and the outbox's photos in IndexedDB, until the platform has acknowledged it. Calls go
// through the shared transport (core/transport.js), as the console's do.
import { ApiError, Transport, requestId } from './core/transport.js';

const T = {
  en: {
    welcome: 'Welcome', signIn: 'Sign in', signUp: 'Sign up', login: 'Phone or e-mail', password: 'Password',
    newPassword: 'Password (8 or more characters)', name: 'Name', me: 'Me', profiles: 'Profiles', chats: 'Chats',
    friends: 'Friends', addFriend: 'Add a friend (ID, phone or e-mail)', add: 'Add', newChat: 'New chat with',
    groupTitle: 'Group name (for three or more)', startChat: 'Start chat', message: 'Message', photo: 'Photo',
    send: 'Send', addProfile: 'Add a profile', close: 'Close', connected: 'Connected to', reconnecting: 'Reconnecting…',
    sending: 'Sending', notSent: 'waiting to be sent', read: 'read', unread: 'unread', save: 'Save', remove: 'Delete',
    defaultProfile: 'Default profile (everyone else)', status: 'Status message', shownTo: 'Shown to', none: 'No chats yet',
    noFriends: 'No friends yet', joined: 'joined', left: 'left', signOut: 'Sign out', console: 'Console',
    tooLong: 'The message is too long.', photoNotKept: 'This browser could not keep the photo to send it.', photoTooLarge: 'The photo is too large.', photoType: 'Photos are JPEG, PNG, GIF or WebP.',
    e400: 'That request is not valid.', e401: 'Please sign in again.', e403: 'That is not allowed.', e404: 'Not found.',
    e409: 'That conflicts with what is there already.', e413: 'That is too large.', e415: 'That kind of file is not accepted.',
    e429: 'Too many at once; try again shortly.', e5xx: 'No site answered; try again.',
  },
  ko: {
    welcome: '환영합니다', signIn: '로그인', signUp: '가입하기', login: '전화번호 또는 이메일', password: '비밀번호',
    newPassword: '비밀번호 (8자 이상)', name: '이름', me: '나', profiles: '프로필', chats: '채팅', friends: '친구',
    addFriend: '친구 추가 (ID, 전화번호 또는 이메일)', add: '추가', newChat: '새 채팅 상대', groupTitle: '그룹 이름 (3명 이상)',
    startChat: '채팅 시작', message: '메시지', photo: '사진', send: '보내기', addProfile: '프로필 추가', close: '닫기',
    connected: '연결됨:', reconnecting: '다시 연결하는 중…', sending: '보내는 중', notSent: '전송 대기', read: '읽음',
    unread: '안 읽음', save: '저장', remove: '삭제', defaultProfile: '기본 프로필 (그 외 모두)', status: '상태 메시지',
    shownTo: '보여줄 친구', none: '채팅이 없습니다', noFriends: '친구가 없습니다', joined: '님이 들어왔습니다',
    left: '님이 나갔습니다', signOut: '로그아웃', console: '콘솔',
    tooLong: '메시지가 너무 깁니다.', photoNotKept: '이 브라우저에 사진을 보관할 수 없어 보낼 수 없습니다.', photoTooLarge: '사진이 너무 큽니다.', photoType: '사진은 JPEG, PNG, GIF, WebP만 됩니다.',
    e400: '요청이 올바르지 않습니다.', e401: '다시 로그인해 주세요.', e403: '허용되지 않습니다.', e404: '찾을 수 없습니다.',
    e409: '이미 있는 것과 충돌합니다.', e413: '너무 큽니다.', e415: '받을 수 없는 파일 형식입니다.',
    e429: '요청이 너무 많습니다. 잠시 후 다시 시도하세요.', e5xx: '응답하는 사이트가 없습니다. 다시 시도하세요.',
  },
};

const $ = (id) => document.getElementById(id);
const store = {
  get: (key, fallback) => { try { return JSON.parse(localStorage.getItem(`haetae.${key}`)) ?? fallback; } catch { return fallback; } },
  set: (key, value) => localStorage.setItem(`haetae.${key}`, JSON.stringify(value)),
  drop: (key) => localStorage.removeItem(`haetae.${key}`),
};

// Photos waiting in the outbox: in IndexedDB, as the files themselves (localStorage holds about 5 MB in
// all, as text; a photo may be 10 MiB). The outbox entry in localStorage names its photo by the entry's id.
const photoOutbox = {
  db: null,
  async open() {
    this.db ??= await new Promise((resolve, reject) => {
      const request = indexedDB.open('haetae', 1);
      request.onupgradeneeded = () => request.result.createObjectStore('outbox-photos');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return this.db;
  },
  async run(mode, act) {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const request = act(db.transaction('outbox-photos', mode).objectStore('outbox-photos'));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  },
  put(id, blob) { return this.run('readwrite', (photos) => photos.put(blob, id)); },
  get(id) { return this.run('readonly', (photos) => photos.get(id)); },
  drop(id) { return this.run('readwrite', (photos) => photos.delete(id)).catch(() => {}); },
};

const state = {
  lang: store.get('lang', (navigator.language || 'ko').startsWith('ko') ? 'ko' : 'en'),
  token: store.get('token', null),
  me: null,             // UserView
  chats: new Map(),     // chat id -> ChatView
  messages: new Map(),  // chat id -> Map(sequence -> MessageView)
  last: new Map(),      // chat id -> highest contiguous sequence held
  receipts: new Map(),  // chat id -> Map(user id -> { delivered, read })
  people: new Map(),    // user id -> UserView as I see them
  open: null,           // open chat id
  socket: null,
  socketSite: null,
  photos: new Map(),    // photo id -> object URL
  limits: null,         // what the node accepts (GET /api/limits)
};

const t = (key) => T[state.lang][key] ?? T.en[key] ?? key;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A refusal in the page's language; in English the node's own detail says more.
const describe = (status, problem) => {
  const key = status >= 500 ? 'e5xx' : `e${status}`;
  return state.lang === 'en' && problem?.detail ? problem.detail : T[state.lang][key] ?? problem?.detail ?? problem?.title ?? `HTTP ${status}`;
};
const transport = new Transport({ storageKey: 'haetae.sites', describe });
transport.token = state.token?.accessToken ?? null;
transport.onSiteChange = () => showSite();
transport.onUnauthorized = () => signOut();
const api = (method, path, body, options) => transport.send(method, path, body, options);

function showSite() {
  const site = transport.current;
  $('site').textContent = site ? `${t('connected')} ${site.name}` : '';
  $('site').dataset.site = site?.name ?? '';
}

function translate() {
  document.documentElement.lang = state.lang;
  // The other language, named in itself (and marked as such for screen readers).
  $('lang').textContent = state.lang === 'ko' ? 'English' : '한국어';
  $('lang').lang = state.lang === 'ko' ? 'en' : 'ko';
  for (const element of document.querySelectorAll('[data-t]')) element.textContent = t(element.dataset.t);
  $('sign-out').textContent = t('signOut');
  $('console-link').textContent = t('console');
  showSite();
  if (state.me) { renderChats(); renderMessages(); }
}

// ---- signing in ----

function loginFields(value) {
  const login = value.trim();
  return login.includes('@') ? { email: login } : { phone: login };
}

async function signIn(login, password) {
  const token = await api('POST', '/api/sessions', { login, password });
  state.token = token;
  transport.token = token.accessToken;
  store.set('token', token);
  await start();
}

function signOut() {
  const token = state.token;
  state.token = null;
  transport.token = null;
  store.drop('token');
  state.socket?.close();
  if (token) fetch(`${transport.current.url}/api/sessions/current`, { method: 'DELETE', headers: { Authorization: `Bearer ${token.accessToken}` } }).catch(() => {});
  location.reload();
}

// ---- the signed-in app ----

async function start() {
  state.me = await api('GET', '/api/me');
  state.people.set(state.me.id, state.me);
  $('auth').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  $('me-name').textContent = state.me.displayName;
  $('me-id').textContent = state.me.id;
  await Promise.all([loadFriends(), loadChats()]);
  connect();
  flushOutbox();
  const open = store.get('open', null);
  if (open && state.chats.has(open)) openChat(open);
}

async function loadFriends() {
  const friends = await api('GET', '/api/friends');
  const list = $('friend-list');
  list.replaceChildren();
  for (const friend of friends.friends) {
    state.people.set(friend.id, friend);
    const item = document.createElement('li');
    const box = document.createElement('input');
    box.type = 'checkbox'; box.id = `pick-${friend.id}`; box.value = friend.id; box.name = 'member';
    const label = document.createElement('label');
    label.htmlFor = box.id;
    label.textContent = friend.displayName + (friend.statusMessage ? ` — ${friend.statusMessage}` : '');
    item.append(box, label);
    list.append(item);
  }
  if (friends.friends.length === 0) list.append(Object.assign(document.createElement('li'), { textContent: t('noFriends') }));
  return friends.friends;
}

async function loadChats() {
  const chats = await api('GET', '/api/chats');
  for (const chat of chats) {
    state.chats.set(chat.id, chat);
    for (const member of chat.members) state.people.set(member.id, member);
    if (!state.last.has(chat.id)) state.last.set(chat.id, 0);
  }
  renderChats();
}

function chatName(chat) {
  if (chat.title) return chat.title;
  const others = chat.members.filter((m) => m.id !== state.me.id).map((m) => state.people.get(m.id)?.displayName ?? m.displayName);
  return others.join(', ') || state.me.displayName;
}

function unreadOf(chat) {
  const mine = state.receipts.get(chat.id)?.get(state.me.id)?.read;
  return mine === undefined ? chat.unread : Math.max(0, chat.lastSequence - mine);
}

function renderChats() {
  const list = $('chat-list');
  list.replaceChildren();
  const chats = [...state.chats.values()].sort((a, b) => (b.lastMessage?.sentAt ?? '').localeCompare(a.lastMessage?.sentAt ?? ''));
  for (const chat of chats) {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'chat-item';
    button.dataset.chat = chat.id;
    if (chat.id === state.open) button.setAttribute('aria-current', 'true');
    const unread = unreadOf(chat);
    button.textContent = chatName(chat);
    if (unread > 0) {
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = unread;
      badge.setAttribute('aria-label', `${unread} ${t('unread')}`);
      button.append(' ', badge);
    }
    button.addEventListener('click', () => openChat(chat.id));
    item.append(button);
    list.append(item);
  }
  if (chats.length === 0) list.append(Object.assign(document.createElement('li'), { textContent: t('none') }));
}

async function openChat(chatId) {
  saveDraft();
  state.open = chatId;
  store.set('open', chatId);
  $('chat').hidden = false;
  $('profiles').hidden = true;
  const chat = state.chats.get(chatId);
  $('chat-title-h').textContent = chatName(chat);
  $('chat-members').textContent = chat.members.map((m) => state.people.get(m.id)?.displayName ?? m.displayName).join(' · ');
  $('draft').value = store.get(`draft.${chatId}`, '');
  await catchUp(chatId);
  await loadReceipts(chatId);
  renderChats();
  renderMessages();
  markRead(chatId);
}

// History after what is held, page by page: the same call fills any gap a dropped socket left.
async function catchUp(chatId) {
  for (let pages = 0; pages < 50; pages++) {
    const after = state.last.get(chatId) ?? 0;
    const page = await api('GET', `/api/chats/${chatId}/messages?after=${after}&limit=200`);
    for (const sender of page.senders ?? []) state.people.set(sender.id, sender);
    for (const message of page.messages) hold(message);
    if (page.messages.length === 0 || (state.last.get(chatId) ?? 0) >= page.lastSequence) break;
  }
}

async function loadReceipts(chatId) {
  const receipts = await api('GET', `/api/chats/${chatId}/receipts`);
  const map = new Map();
  for (const member of receipts.members) map.set(member.userId, { delivered: member.delivered, read: member.read });
  state.receipts.set(chatId, map);
}

function hold(message) {
  if (!state.messages.has(message.chatId)) state.messages.set(message.chatId, new Map());
  const held = state.messages.get(message.chatId);
  held.set(message.sequence, message);
  let last = state.last.get(message.chatId) ?? 0;
  while (held.has(last + 1)) last++;
  state.last.set(message.chatId, last);
  const chat = state.chats.get(message.chatId);
  if (chat && message.sequence > chat.lastSequence) { chat.lastSequence = message.sequence; chat.lastMessage = message; }
  const outbox = store.get('outbox', []);
  if (outbox.some((o) => o.id === message.requestId)) {
    store.set('outbox', outbox.filter((o) => o.id !== message.requestId));
    renderOutbox();
  }
}

function renderMessages() {
  const chatId = state.open;
  if (!chatId) return;
  const list = $('messages');
  const held = [...(state.messages.get(chatId)?.values() ?? [])].sort((a, b) => a.sequence - b.sequence);
  const chat = state.chats.get(chatId);
  const receipts = state.receipts.get(chatId) ?? new Map();
  // Where the reader is: at the end (follow new messages) or further up (stay there). A chat just opened starts at its end.
  const kept = list.scrollTop;
  const atEnd = list.dataset.chat !== chatId || list.scrollHeight - kept - list.clientHeight < 40;
  list.dataset.chat = chatId;
  list.replaceChildren();
  for (const message of held) {
    const item = document.createElement('li');
    item.className = message.senderId === state.me.id ? 'mine' : 'theirs';
    item.dataset.sequence = message.sequence;
    const who = state.people.get(message.senderId)?.displayName ?? message.senderId;
    if (message.kind === 'Joined' || message.kind === 'Left') {
      item.className = 'system';
      const names = (message.userIds ?? []).map((id) => state.people.get(id)?.displayName ?? id).join(', ');
      item.textContent = `${names} ${t(message.kind === 'Joined' ? 'joined' : 'left')}`;
      list.append(item);
      continue;
    }
    const head = document.createElement('span');
    head.className = 'who';
    head.textContent = who;
    item.append(head);
    if (message.text) item.append(Object.assign(document.createElement('p'), { className: 'text', textContent: message.text }));
    if (message.photoId) item.append(photoElement(message.photoId, `${who}: ${t('photo')}`));
    const others = chat ? chat.members.filter((m) => m.id !== message.senderId) : [];
    const unreadBy = others.filter((m) => (receipts.get(m.id)?.read ?? 0) < message.sequence).length;
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = `${new Date(message.sentAt).toLocaleTimeString(state.lang === 'ko' ? 'ko-KR' : 'en-GB', { hour: '2-digit', minute: '2-digit' })}` +
      (message.senderId === state.me.id ? (unreadBy > 0 ? ` · ${unreadBy} ${t('unread')}` : ` · ${t('read')}`) : '');
    item.append(meta);
    list.append(item);
  }
  for (const pending of store.get('outbox', []).filter((o) => o.chatId === chatId)) {
    const item = document.createElement('li');
    item.className = 'mine pending';
    item.append(Object.assign(document.createElement('p'), { className: 'text', textContent: pending.text ?? t('photo') }),
      Object.assign(document.createElement('span'), { className: 'meta', textContent: t('notSent') }));
    list.append(item);
  }
  // Only the list scrolls, never the page: scrolling an item into view would move the whole page under a
  // phone's reader (and under a finger on the send button) on every message and receipt.
  list.scrollTop = atEnd ? list.scrollHeight : kept;
}

function photoElement(photoId, alt) {
  const image = document.createElement('img');
  image.alt = alt;
  image.className = 'photo';
  const cached = state.photos.get(photoId);
  if (cached) { image.src = cached; return image; }
  api('GET', `/api/photos/${photoId}`).then((blob) => {
    const url = URL.createObjectURL(blob);
    state.photos.set(photoId, url);
    image.src = url;
  }).catch(() => { image.alt = `${alt} (unavailable)`; });
  return image;
}

async function markRead(chatId) {
  const last = state.last.get(chatId) ?? 0;
  if (last === 0 || document.hidden) return;
  try {
    await api('POST', `/api/chats/${chatId}/read`, { sequence: last });
    const mine = state.receipts.get(chatId) ?? new Map();
    mine.set(state.me.id, { delivered: last, read: last });
    state.receipts.set(chatId, mine);
    renderChats();
  } catch { /* the next message marks it again */ }
}

// ---- sending: the outbox survives reloads and site losses; each entry keeps its request id ----

function saveDraft() {
  if (state.open) store.set(`draft.${state.open}`, $('draft').value);
}

function renderOutbox() {
  const pending = store.get('outbox', []).length;
  $('outbox').textContent = pending > 0 ? `${t('sending')}: ${pending}` : '';
  renderMessages();
}

let flushing = false;
async function flushOutbox() {
  if (flushing) return;
  flushing = true;
  try {
    for (;;) {
      const [next] = store.get('outbox', []);
      if (!next) break;
      try {
        let photoId = next.photoId;
        if (next.photo && !photoId) {
          // An entry from before photos moved to IndexedDB carries its photo as base64 text.
          const blob = next.photo.data
            ? new Blob([Uint8Array.from(atob(next.photo.data), (c) => c.charCodeAt(0))], { type: next.photo.type })
            : await photoOutbox.get(next.id);
          if (!blob) throw new ApiError(400, null, t('photoNotKept'));
          photoId = (await api('POST', '/api/photos', blob, { id: `${next.id}p`, raw: true, contentType: next.photo.type })).id;
          store.set('outbox', store.get('outbox', []).map((o) => (o.id === next.id ? { ...o, photoId, photo: undefined } : o)));
          photoOutbox.drop(next.id);
        }
        const message = await api('POST', `/api/chats/${next.chatId}/messages`, { text: next.text || null, photoId: photoId ?? null }, { id: next.id });
        hold(message);
        store.set('outbox', store.get('outbox', []).filter((o) => o.id !== next.id));
        renderOutbox();
        renderChats();
      } catch (error) {
        if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 401) {
          // Refused for good (too long, not a member): dropped, and said so.
          store.set('outbox', store.get('outbox', []).filter((o) => o.id !== next.id));
          photoOutbox.drop(next.id);
          $('side-error').textContent = error.message;
          renderOutbox();
          continue;
        }
        await sleep(1000);
      }
    }
  } finally {
    flushing = false;
  }
}

async function send(event) {
  event.preventDefault();
  const chatId = state.open;
  const text = $('draft').value.trim();
  const file = $('photo').files[0];
  if (!chatId || (!text && !file)) return;
  if (state.limits && new TextEncoder().encode(text).length > state.limits.messageTextBytes) { $('chat-error').textContent = t('tooLong'); return; }
  if (file && state.limits && file.size > state.limits.photoBytes) { $('chat-error').textContent = t('photoTooLarge'); return; }
  if (file && state.limits && !state.limits.photoTypes.includes(file.type)) { $('chat-error').textContent = t('photoType'); return; }
  $('chat-error').textContent = '';
  const entry = { id: requestId(), chatId, text };
  if (file) {
    try {
      await photoOutbox.put(entry.id, file);
    } catch {
      $('chat-error').textContent = t('photoNotKept');
      return;
    }
    entry.photo = { type: file.type };
  }
  // Into the outbox before the draft is cleared: from here on, a lost site cannot lose it.
  store.set('outbox', [...store.get('outbox', []), entry]);
  $('draft').value = '';
  $('photo').value = '';
  saveDraft();
  renderOutbox();
  flushOutbox();
}

// ---- realtime: one socket, resumed by sequence at whichever site answers ----

function connect() {
  if (!state.token) return;
  const site = transport.current;
  const url = `${site.url.replace(/^http/, 'ws')}/api/realtime?access_token=${encodeURIComponent(state.token.accessToken)}`;
  let socket;
  try { socket = new WebSocket(url); } catch { return reconnect(); }
  state.socket = socket;
  socket.onopen = () => {
    state.socketSite = site.name;
    socket.send(JSON.stringify({ type: 'resume', chats: Object.fromEntries(state.last) }));
  };
  socket.onmessage = (event) => onFrame(JSON.parse(event.data));
  socket.onclose = () => { if (state.socket === socket) reconnect(); };
}

let reconnecting = false;
async function reconnect() {
  if (reconnecting || !state.token) return;
  reconnecting = true;
  $('site').textContent = t('reconnecting');
  await sleep(300);
  reconnecting = false;
  transport.next();
  connect();
  // Anything the old socket did not deliver comes with the resume; the open chat also re-reads its history.
  if (state.open) catchUp(state.open).then(renderMessages).catch(() => {});
  flushOutbox();
}

async function onFrame(frame) {
  if (frame.type === 'message') {
    const message = frame.message;
    if (!state.chats.has(message.chatId)) await loadChats();
    const last = state.last.get(message.chatId) ?? 0;
    if (message.sequence > last + 1) await catchUp(message.chatId);
    hold(message);
    renderChats();
    if (message.chatId === state.open) { renderMessages(); markRead(message.chatId); }
  } else if (frame.type === 'receipt') {
    const receipt = frame.receipt;
    const map = state.receipts.get(receipt.chatId) ?? new Map();
    map.set(receipt.userId, { delivered: receipt.delivered, read: receipt.read });
    state.receipts.set(receipt.chatId, map);
    if (receipt.chatId === state.open) renderMessages();
    renderChats();
  } else if (frame.type === 'profile') {
    state.people.set(frame.profile.id, frame.profile);
    renderChats();
    renderMessages();
  } else if (frame.type === 'live') {
    // The socket is (re)connected. Messages missed while it was down came with the resume; read
    // receipts and unread counts that changed meanwhile are read again.
    showSite();
    try {
      await loadChats();
      if (state.open) { await loadReceipts(state.open); renderMessages(); }
    } catch { /* the next frame or reconnect tries again */ }
  }
}

// ---- friends and chats ----

async function addFriend(event) {
  event.preventDefault();
  const who = $('friend-who').value.trim();
  $('side-error').textContent = '';
  const request = /^u[0-9a-f]{20}$/.test(who) ? { userId: who } : loginFields(who);
  try {
    await api('POST', '/api/friends', request);
    $('friend-who').value = '';
    await loadFriends();
  } catch (error) {
    $('side-error').textContent = error.message;
  }
}

async function newChat(event) {
  event.preventDefault();
  const members = [...document.querySelectorAll('#friend-list input:checked')].map((box) => box.value);
  if (members.length === 0) return;
  $('side-error').textContent = '';
  try {
    const title = $('chat-title').value.trim() || null;
    const chat = await api('POST', '/api/chats', { memberIds: members, title }, { id: requestId() });
    state.chats.set(chat.id, chat);
    state.last.set(chat.id, state.last.get(chat.id) ?? 0);
    for (const box of document.querySelectorAll('#friend-list input:checked')) box.checked = false;
    $('chat-title').value = '';
    renderChats();
    // The node tells this device's socket of the new chat by itself (a membership event): no reconnect, no other site.
    await openChat(chat.id);
  } catch (error) {
    $('side-error').textContent = error.message;
  }
}

// ---- profiles ----

async function openProfiles() {
  saveDraft();
  $('chat').hidden = true;
  $('profiles').hidden = false;
  state.open = null;
  await renderProfiles();
}

async function renderProfiles() {
  const [mine, friends] = await Promise.all([api('GET', '/api/profiles'), api('GET', '/api/friends')]);
  const host = $('profile-editors');
  host.replaceChildren(profileEditor(mine.default, true, friends.friends), ...mine.extras.map((p) => profileEditor(p, false, friends.friends)));
}

function profileEditor(profile, isDefault, friends) {
  const form = document.createElement('form');
  form.className = 'profile-editor';
  const key = isDefault ? 'default' : profile.id;
  const title = document.createElement('h3');
  title.textContent = isDefault ? t('defaultProfile') : profile.displayName;
  const field = (name, label, value) => {
    const id = `profile-${key}-${name}`;
    const wrap = document.createElement('div');
    wrap.append(Object.assign(document.createElement('label'), { htmlFor: id, textContent: label }),
      Object.assign(document.createElement('input'), { id, name, value: value ?? '', maxLength: name === 'displayName' ? 64 : 200 }));
    return wrap;
  };
  form.append(title, field('displayName', t('name'), profile.displayName), field('statusMessage', t('status'), profile.statusMessage));
  if (!isDefault) {
    const set = document.createElement('fieldset');
    set.append(Object.assign(document.createElement('legend'), { textContent: t('shownTo') }));
    for (const friend of friends) {
      const id = `profile-${key}-friend-${friend.id}`;
      const box = Object.assign(document.createElement('input'), { type: 'checkbox', id, value: friend.id, checked: profile.friendIds.includes(friend.id) });
      box.addEventListener('change', async () => {
        try {
          await api(box.checked ? 'PUT' : 'DELETE', `/api/profiles/${profile.id}/friends/${friend.id}`);
        } catch (error) { $('profile-error').textContent = error.message; box.checked = !box.checked; }
      });
      set.append(box, Object.assign(document.createElement('label'), { htmlFor: id, textContent: friend.displayName }));
    }
    form.append(set);
  }
  const save = Object.assign(document.createElement('button'), { type: 'submit', textContent: t('save') });
  form.append(save);
  if (!isDefault) {
    const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: t('remove') });
    remove.addEventListener('click', async () => {
      try { await api('DELETE', `/api/profiles/${profile.id}`); await renderProfiles(); } catch (error) { $('profile-error').textContent = error.message; }
    });
    form.append(remove);
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    $('profile-error').textContent = '';
    const body = { displayName: form.elements.displayName.value, statusMessage: form.elements.statusMessage.value || null, photoId: profile.photoId ?? null };
    try {
      await api('PUT', isDefault ? '/api/profiles/default' : `/api/profiles/${profile.id}`, body);
      await renderProfiles();
    } catch (error) { $('profile-error').textContent = error.message; }
  });
  return form;
}

async function addProfile() {
  $('profile-error').textContent = '';
  try {
    await api('POST', '/api/profiles', { displayName: `${state.me.displayName} 2`, statusMessage: null, photoId: null }, { id: requestId() });
    await renderProfiles();
  } catch (error) { $('profile-error').textContent = error.message; }
}

// ---- start-up ----

// What the node accepts (GET /api/limits), applied to the forms: the numbers live on the node only.
async function applyLimits() {
  try {
    state.limits = await api('GET', '/api/limits');
  } catch {
    return; // the node checks anyway; the forms just do not warn ahead
  }
  $('up-name').maxLength = state.limits.displayNameLength;
  $('up-password').minLength = state.limits.passwordMinLength;
  $('up-password').maxLength = state.limits.passwordMaxLength;
  $('chat-title').maxLength = state.limits.chatTitleLength;
  $('photo').accept = state.limits.photoTypes.join(',');
}

async function boot() {
  await transport.discover();
  await applyLimits();
  translate();
  $('lang').addEventListener('click', () => { state.lang = state.lang === 'ko' ? 'en' : 'ko'; store.set('lang', state.lang); translate(); });
  $('sign-out').addEventListener('click', signOut);
  $('sign-in-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    $('auth-error').textContent = '';
    try { await signIn($('in-login').value.trim(), $('in-password').value); } catch (error) { $('auth-error').textContent = error.message; }
  });
  $('sign-up-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    $('auth-error').textContent = '';
    const login = $('up-login').value.trim();
    try {
      await api('POST', '/api/accounts', { ...loginFields(login), displayName: $('up-name').value, password: $('up-password').value }, { id: requestId() });
      await signIn(login, $('up-password').value);
    } catch (error) { $('auth-error').textContent = error.message; }
  });
  $('add-friend-form').addEventListener('submit', addFriend);
  $('new-chat-form').addEventListener('submit', newChat);
  $('composer').addEventListener('submit', send);
  $('draft').addEventListener('input', saveDraft);
  $('draft').addEventListener('keydown', (event) => { if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) send(event); });
  $('open-profiles').addEventListener('click', openProfiles);
  $('close-profiles').addEventListener('click', () => { $('profiles').hidden = true; });
  $('add-profile').addEventListener('click', addProfile);
  document.addEventListener('visibilitychange', () => { if (state.open) markRead(state.open); });
  // Receipts come as realtime frames; a frame lost in a socket's last moments is made up for here.
  setInterval(async () => {
    if (!state.open || document.hidden) return;
    const before = JSON.stringify([...(state.receipts.get(state.open) ?? new Map())]);
    try { await loadReceipts(state.open); } catch { return; }
    if (JSON.stringify([...state.receipts.get(state.open)]) !== before) renderMessages();
  }, 5000);
  if (state.token) {
    try { await start(); } catch { /* signed out or no site: the sign-in form stays */ }
  }
}

boot();
