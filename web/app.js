// @ts-check
// Haetae web app: native ES modules, no build step, no server-side session. The core (core/) knows
// every site and moves to the next by itself when a call fails or the realtime socket drops, keeps
// what is being sent in an outbox (IndexedDB) with its request ids until the platform acknowledges
// it, dispatches realtime frames by type, translates, routes by hash and renders lists by key. Each
// feature (features/) adds its strings, routes, frames and forms; this file puts them together.
import { Context } from './core/context.js';
import { byId } from './core/dom.js';
import { account } from './features/account/account.js';
import { chat } from './features/chat/chat.js';
import { friends } from './features/friends/friends.js';
import { gifts } from './features/gifts/gifts.js';
import { notices } from './features/notices/notices.js';
import { pay } from './features/pay/pay.js';
import { profiles } from './features/profiles/profiles.js';
import { rides } from './features/rides/rides.js';

const strings = {
  en: {
    connected: 'Connected to', reconnecting: 'Reconnecting…', console: 'Console',
    e400: 'That request is not valid.', e401: 'Please sign in again.', e403: 'That is not allowed.', e404: 'Not found.',
    e409: 'That conflicts with what is there already.', e413: 'That is too large.', e415: 'That kind of file is not accepted.',
    e429: 'Too many at once; try again shortly.', e5xx: 'No site answered; try again.',
  },
  ko: {
    connected: '연결됨:', reconnecting: '다시 연결하는 중…', console: '콘솔',
    e400: '요청이 올바르지 않습니다.', e401: '다시 로그인해 주세요.', e403: '허용되지 않습니다.', e404: '찾을 수 없습니다.',
    e409: '이미 있는 것과 충돌합니다.', e413: '너무 큽니다.', e415: '받을 수 없는 파일 형식입니다.',
    e429: '요청이 너무 많습니다. 잠시 후 다시 시도하세요.', e5xx: '응답하는 사이트가 없습니다. 다시 시도하세요.',
  },
};

const ctx = new Context();
ctx.i18n.add(strings);

function showSite() {
  const site = ctx.transport.current;
  byId('site').textContent = site ? `${ctx.t('connected')} ${site.name}` : '';
  byId('site').dataset.site = site?.name ?? '';
}

const people = friends(ctx);
const wallet = pay(ctx);
const vouchers = gifts(ctx);
const chats = chat(ctx, people, wallet, vouchers);
profiles(ctx);
rides(ctx);
notices(ctx);
const signIn = account(ctx, async () => {
  await Promise.all([people.load(), chats.load()]);
  if (ctx.token) ctx.realtime.start(ctx.token.accessToken);
  ctx.outbox.flush();
  await ctx.router.start();
});

ctx.transport.onSiteChange = showSite;
ctx.realtime.onReconnect(() => { byId('site').textContent = ctx.t('reconnecting'); });
ctx.realtime.on('live', showSite);
ctx.router.add(/^#\/?$/, () => {});
ctx.i18n.onChange(() => {
  // The other language, named in itself (and marked as such for screen readers).
  byId('lang').textContent = ctx.i18n.lang === 'ko' ? 'English' : '한국어';
  byId('lang').lang = ctx.i18n.lang === 'ko' ? 'en' : 'ko';
  byId('sign-out').textContent = ctx.t('signOut');
  byId('console-link').textContent = ctx.t('console');
  showSite();
  ctx.render();
});
byId('lang').addEventListener('click', () => ctx.i18n.toggle());

await ctx.transport.discover();
try {
  // What the node accepts, applied to the forms: the numbers live on the node only.
  ctx.limits = await ctx.api('GET', '/api/limits');
  if (ctx.limits) { signIn.limit(ctx.limits); chats.limit(ctx.limits); }
} catch { /* the node checks anyway; the forms just do not warn ahead */ }
ctx.i18n.apply();
await ctx.outbox.open().catch(() => { /* no IndexedDB here: sending still works while the page is open */ });
await signIn.resume();
