// @ts-check
// Gifts: vouchers from shops' catalogs, bought for a friend in a chat (paid from the wallet, through
// the outbox with its request id, so a lost site or a reload never buys one twice), the gift message in
// the chat, and "my vouchers": each with the code to show at the shop, its value, how long it is valid
// (and why that date moved: every recorded outage of gifts adds its length), its state, and a notice
// when it expires within 30 days.
import { byId, el, renderKeyed, showError } from '../../core/dom.js';
import { requestId } from '../../core/transport.js';
import { won } from '../pay/pay.js';

/** @typedef {import('../../core/context.js').Context} Context */
/** @typedef {{ id: string, merchantId: string, shop: string, name: string, kind: 'Item' | 'Amount', price: number, retired: boolean }} ProductView */
/** @typedef {{ incidentId: string, from: string, to: string, seconds: number }} ValidityExtension */
/**
 * @typedef {{ id: string, product: string, shop: string, kind: 'Item' | 'Amount', price: number, buyerId: string, holderId: string,
 *   code?: string | null, state: 'Issuing' | 'Active' | 'Held' | 'Redeemed' | 'Refunded', issued: string, validUntil: string, expires: string,
 *   extensions: ValidityExtension[], notice?: string | null, refunded: number }} VoucherView
 */
/** @typedef {{ chatId: string, senderId: string, gift?: { voucherId: string, product: string, shop: string, price: number } | null }} GiftMessage */

const strings = {
  en: {
    sendGift: 'Send a gift', myVouchers: 'My vouchers', noVouchers: 'No vouchers yet', giftFor: 'a gift', code: 'Code to show at the shop',
    validUntil: 'Valid until', movedBy: 'moved by {0} for outage {1}', Issuing: 'being issued', Active: 'ready to use', Held: 'being redeemed',
    Redeemed: 'used', Refunded: 'expired: 90% refunded to the buyer', expiresSoon: 'Expires on {0}: use it by then, or 90% of its price goes back to the buyer.',
    notSent: 'waiting to be sent', openVouchers: 'See my vouchers', close: 'Close', Item: 'item', Amount: 'amount voucher',
  },
  ko: {
    sendGift: '선물하기', myVouchers: '내 선물함', noVouchers: '선물이 없습니다', giftFor: '선물', code: '가게에 보여 줄 코드',
    validUntil: '유효기간', movedBy: '장애 {1}로 {0} 연장', Issuing: '발급 중', Active: '사용 가능', Held: '사용 처리 중',
    Redeemed: '사용 완료', Refunded: '기간 만료: 구매자에게 90% 환불', expiresSoon: '{0}에 만료됩니다. 그 전에 사용하지 않으면 구매 금액의 90%가 구매자에게 환불됩니다.',
    notSent: '전송 대기', openVouchers: '내 선물함 보기', close: '닫기', Item: '상품', Amount: '금액권',
  },
};

/** @param {number} seconds */
function duration(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** @param {Context} ctx */
export function gifts(ctx) {
  ctx.i18n.add(strings);
  const t = (/** @type {string} */ key, /** @type {string[]} */ ...args) => args.reduce((s, a, i) => s.replace(`{${i}}`, a), ctx.t(key));
  const section = byId('vouchers');
  const error = byId('vouchers-error');
  /** @type {Map<string, VoucherView>} voucher id -> what the platform last said of it */
  const vouchers = new Map();
  const asking = new Set();
  /** @type {ProductView[]} */
  let catalog = [];
  /** @type {() => void} */
  let changed = () => {};

  const date = (/** @type {string} */ iso) => new Date(iso).toLocaleDateString(ctx.i18n.lang === 'ko' ? 'ko-KR' : 'en-GB');

  /** @param {VoucherView} v */
  function card(v) {
    const item = el('li', { className: 'voucher' });
    item.dataset.state = v.state;
    item.append(
      el('strong', { className: 'voucher-what', textContent: `${v.product} · ${v.shop}` }), ' ',
      el('span', { className: 'voucher-value', textContent: `${won(v.price)} (${t(v.kind)})` }), ' ',
      el('span', { className: 'voucher-state', textContent: t(v.state) }));
    if (v.code && (v.state === 'Active' || v.state === 'Held')) {
      item.append(el('p', {}, `${t('code')}: `, el('strong', { className: 'code voucher-code', textContent: v.code.replace(/(\d{4})(?=\d)/g, '$1 ') })));
    }
    item.append(el('p', { className: 'voucher-valid', textContent: `${t('validUntil')}: ${date(v.expires)}` }));
    for (const moved of v.extensions) {
      item.append(el('p', { className: 'voucher-moved', textContent: t('movedBy', duration(moved.seconds), moved.incidentId) }));
    }
    if (v.notice) item.append(el('p', { className: 'voucher-notice', role: 'note', textContent: t('expiresSoon', date(v.expires)) }));
    return item;
  }

  async function renderVouchers() {
    /** @type {VoucherView[]} */
    const mine = await ctx.api('GET', '/api/gifts/vouchers');
    for (const v of mine) vouchers.set(v.id, v);
    const host = byId('voucher-list');
    renderKeyed(host, mine, (v) => v.id, (v) => JSON.stringify([v, ctx.i18n.lang]), card);
    if (mine.length === 0) host.append(el('li', { textContent: t('noVouchers') }));
  }

  /** @param {() => Promise<unknown>} act */
  async function attempt(act) {
    error.textContent = '';
    try { await act(); } catch (e) { showError(error, e); }
  }

  ctx.outbox.register('gift', async (entry) => {
    /** @type {VoucherView} */
    const view = await ctx.api('POST', '/api/gifts/vouchers', entry.body, { id: entry.id });
    vouchers.set(view.id, view);
    changed();
  });

  /** @param {string} id */
  function ask(id) {
    if (asking.has(id)) return;
    asking.add(id);
    ctx.api('GET', `/api/gifts/vouchers/${id}`)
      .then((/** @type {VoucherView} */ view) => { vouchers.set(view.id, view); changed(); })
      .catch(() => {})
      .finally(() => asking.delete(id));
  }

  ctx.router.add(/^#\/vouchers$/, async () => {
    section.hidden = false;
    await attempt(renderVouchers);
  });
  ctx.router.onLeave(() => { section.hidden = true; });
  byId('open-vouchers').addEventListener('click', () => ctx.router.go('#/vouchers'));
  byId('close-vouchers').addEventListener('click', () => ctx.router.go('#/'));

  return {
    /** The products on sale, for the gift picker in a chat. @returns {Promise<ProductView[]>} */
    async products() {
      catalog = await ctx.api('GET', '/api/gifts/products');
      return catalog;
    },
    /** Buys a product for someone in a chat, through the outbox, at the price shown. @param {string} chatId @param {string} to @param {string} productId */
    send(chatId, to, productId) {
      const product = catalog.find((p) => p.id === productId);
      if (!product) return Promise.resolve();
      return ctx.outbox.add(requestId(), 'gift', { productId, price: product.price, to, chatId, label: `${product.name} · ${won(product.price)}` });
    },
    /** Gifts still in the outbox for this chat. @param {string} chatId */
    unsent: (chatId) => ctx.outbox.of('gift').filter((e) => e.body.chatId === chatId).map((e) => ({ id: e.id, text: `🎁 ${e.body.label} · ${t('notSent')}` })),
    /** @param {GiftMessage} message */
    keyOf: (message) => JSON.stringify([vouchers.get(message.gift?.voucherId ?? '')?.state ?? null, ctx.i18n.lang]),
    /** A gift message: what, from which shop, its value and state; for its receiver, the way to their vouchers. @param {GiftMessage} message */
    element(message) {
      const gift = message.gift;
      const box = el('div', { className: 'gift' });
      if (!gift) return box;
      const view = vouchers.get(gift.voucherId);
      if (!view) ask(gift.voucherId);
      box.append(
        el('span', { ariaHidden: 'true', textContent: '🎁 ' }),
        el('strong', { textContent: `${gift.product} · ${gift.shop}` }), ' ', won(gift.price), ' ',
        el('span', { className: 'gift-state', textContent: view ? t(view.state) : '…' }));
      if (view && view.holderId === ctx.user.id) {
        const open = el('button', { type: 'button', className: 'open-voucher', textContent: t('openVouchers') });
        open.addEventListener('click', () => ctx.router.go('#/vouchers'));
        box.append(' ', open);
      }
      return box;
    },
    /** @param {() => void} listener called when a voucher's state is known anew */
    onChange(listener) { changed = listener; },
  };
}
