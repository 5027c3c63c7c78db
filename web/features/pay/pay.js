// @ts-check
// Pay: the wallet (what it holds, what is held or on its way, the history), top-ups and withdrawals
// through the bank, and money sent in a chat: an envelope the receiver accepts or declines, or that
// goes back by itself after 48 hours. Every payment goes through the outbox with its request id, so a
// lost site or a reload never loses one, and the platform applies each once.
import { byId, el, input, renderKeyed, showError } from '../../core/dom.js';
import { requestId } from '../../core/transport.js';

/** @typedef {import('../../core/context.js').Context} Context */
/** @typedef {{ balance: number, available: number, held: number, incoming: number }} WalletView */
/** @typedef {{ id: string, from: string, to: string, amount: number, chatId?: string | null, state: 'Waiting' | 'Accepted' | 'Returned', expires: string }} EnvelopeView */
/** @typedef {{ transferId: string, code: string, amount: number, held: number, counterparty: { kind: string, id?: string | null, name: string }, at: string }} HistoryItem */
/** @typedef {{ chatId: string, senderId: string, money?: { envelopeId: string, amount: number } | null }} MoneyMessage */

const strings = {
  en: {
    wallet: 'Wallet', balance: 'Balance', available: 'Available', held: 'Held', incoming: 'On its way',
    amount: 'Amount (won)', topUp: 'Top up from the bank', withdraw: 'Withdraw to the bank', history: 'History', noHistory: 'Nothing yet',
    sendMoney: 'Send money', accept: 'Accept', decline: 'Decline', Waiting: 'waiting', Accepted: 'accepted', Returned: 'returned',
    notSent: 'waiting to be sent', topup: 'top-up', withdrawal: 'withdrawal', envelope: 'envelope', accepted: 'accepted',
    returned: 'returned', 'bank-done': 'bank confirmed', 'bank-refused': 'bank refused', closeWallet: 'Close',
    payShop: 'Pay at a shop (the code the till shows)', lookUp: 'Look up', approve: 'Approve', authorization: 'shop payment',
    capture: 'captured', void: 'voided', expired: 'expired', refund: 'refund', Open: 'waiting for you', Approved: 'approved',
    Captured: 'paid', Voided: 'voided', Expired: 'expired',
  },
  ko: {
    wallet: '지갑', balance: '잔액', available: '쓸 수 있는 돈', held: '묶인 돈', incoming: '들어올 돈',
    amount: '금액 (원)', topUp: '은행에서 충전', withdraw: '은행으로 출금', history: '내역', noHistory: '내역이 없습니다',
    sendMoney: '송금', accept: '받기', decline: '거절', Waiting: '대기 중', Accepted: '받음', Returned: '돌려보냄',
    notSent: '전송 대기', topup: '충전', withdrawal: '출금', envelope: '송금 봉투', accepted: '받음',
    returned: '돌려받음', 'bank-done': '은행 확인', 'bank-refused': '은행 거절', closeWallet: '닫기',
    payShop: '가게에서 결제 (계산대의 코드)', lookUp: '조회', approve: '승인', authorization: '가게 결제',
    capture: '결제됨', void: '취소됨', expired: '만료됨', refund: '환불', Open: '승인 대기', Approved: '승인됨',
    Captured: '결제됨', Voided: '취소됨', Expired: '만료됨',
  },
};

/** @param {number} amount */
export const won = (amount) => `₩${amount.toLocaleString('ko-KR')}`;

/** @param {Context} ctx */
export function pay(ctx) {
  ctx.i18n.add(strings);
  const t = (/** @type {string} */ key) => ctx.t(key);
  const section = byId('wallet');
  const error = byId('wallet-error');
  /** @type {Map<string, EnvelopeView>} envelope id -> what the platform last said of it */
  const envelopes = new Map();
  /** @type {Set<string>} envelopes being read, so each is asked for once */
  const asking = new Set();
  /** @type {() => void} */
  let changed = () => {};

  async function renderWallet() {
    /** @type {[WalletView, { items: HistoryItem[] }]} */
    const [wallet, history] = await Promise.all([ctx.api('GET', '/api/pay/wallet'), ctx.api('GET', '/api/pay/history?limit=20')]);
    byId('wallet-balance').textContent = won(wallet.balance);
    byId('wallet-available').textContent = won(wallet.available);
    byId('wallet-held').textContent = won(wallet.held);
    byId('wallet-incoming').textContent = won(wallet.incoming);
    const host = byId('wallet-history');
    renderKeyed(host, history.items, (i) => i.transferId, (i) => JSON.stringify([i, ctx.i18n.lang]), (i) => {
      const moved = i.amount !== 0 ? won(i.amount) : `(${won(i.held)})`;
      return el('li', { textContent: `${t(i.code)} · ${i.counterparty.name} · ${moved}` });
    });
    if (history.items.length === 0) host.append(el('li', { textContent: t('noHistory') }));
  }

  /** @param {() => Promise<unknown>} act */
  async function attempt(act) {
    error.textContent = '';
    try { await act(); } catch (e) { showError(error, e); }
  }

  const refresh = () => { if (!section.hidden) attempt(renderWallet); };
  ctx.outbox.register('topup', async (entry) => { await ctx.api('POST', '/api/pay/topups', entry.body, { id: entry.id }); refresh(); });
  ctx.outbox.register('withdrawal', async (entry) => { await ctx.api('POST', '/api/pay/withdrawals', entry.body, { id: entry.id }); refresh(); });
  ctx.outbox.register('envelope', async (entry) => {
    /** @type {EnvelopeView} */
    const view = await ctx.api('POST', '/api/pay/envelopes', entry.body, { id: entry.id });
    envelopes.set(view.id, view);
    changed();
    refresh();
  });

  /** @param {string} kind @param {string} field */
  function bankForm(kind, field) {
    return async (/** @type {Event} */ event) => {
      event.preventDefault();
      const amount = Number(input(field).value);
      if (!Number.isSafeInteger(amount) || amount < 1) return;
      await attempt(() => ctx.outbox.add(requestId(), kind, { amount }));
      input(field).value = '';
    };
  }

  /** @param {string} id @param {boolean} accept */
  async function answer(id, accept) {
    await attempt(async () => {
      /** @type {EnvelopeView} */
      const view = await ctx.api('POST', `/api/pay/envelopes/${id}/${accept ? 'accept' : 'decline'}`);
      envelopes.set(view.id, view);
      changed();
      refresh();
    });
  }

  /** @param {string} id */
  function ask(id) {
    if (asking.has(id)) return;
    asking.add(id);
    ctx.api('GET', `/api/pay/envelopes/${id}`)
      .then((/** @type {EnvelopeView} */ view) => { envelopes.set(view.id, view); changed(); })
      .catch(() => {})
      .finally(() => asking.delete(id));
  }

  /** @type {string | null} the code looked up, waiting for approval */
  let code = null;
  /** @param {{ merchantName: string, amount: number, state: string }} charge */
  function showCharge(charge) {
    byId('shop-payment').hidden = false;
    byId('shop-payment-what').textContent = `${charge.merchantName} · ${won(charge.amount)} · ${t(charge.state)}`;
    byId('approve-payment').hidden = charge.state !== 'Open';
  }
  byId('shop-code-form').addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(async () => {
      code = input('shop-code').value.trim();
      showCharge(await ctx.api('GET', `/api/pay/codes/${encodeURIComponent(code)}`));
    });
  });
  byId('approve-payment').addEventListener('click', () => attempt(async () => {
    if (!code) return;
    showCharge(await ctx.api('POST', `/api/pay/codes/${encodeURIComponent(code)}/approve`));
    await renderWallet();
  }));

  ctx.router.add(/^#\/wallet$/, async () => {
    section.hidden = false;
    await attempt(renderWallet);
  });
  ctx.router.onLeave(() => { section.hidden = true; });
  byId('open-wallet').addEventListener('click', () => ctx.router.go('#/wallet'));
  byId('close-wallet').addEventListener('click', () => ctx.router.go('#/'));
  byId('topup-form').addEventListener('submit', bankForm('topup', 'topup-amount'));
  byId('withdraw-form').addEventListener('submit', bankForm('withdrawal', 'withdraw-amount'));

  return {
    /** Sends money to someone in a chat, through the outbox. @param {string} chatId @param {string} to @param {number} amount */
    send: (chatId, to, amount) => ctx.outbox.add(requestId(), 'envelope', { to, amount, chatId }),
    /** Envelopes still in the outbox for this chat (not yet acknowledged). @param {string} chatId */
    unsent: (chatId) => ctx.outbox.of('envelope').filter((e) => e.body.chatId === chatId).map((e) => ({ id: e.id, text: `${won(e.body.amount)} · ${t('notSent')}` })),
    /** What decides whether a money message must be drawn again. @param {MoneyMessage} message */
    keyOf: (message) => JSON.stringify(envelopes.get(message.money?.envelopeId ?? '') ?? null),
    /** A money message: the amount, its state, and for its receiver while it waits, accept and decline. @param {MoneyMessage} message */
    element(message) {
      const money = message.money;
      const box = el('div', { className: 'money' });
      if (!money) return box;
      const view = envelopes.get(money.envelopeId);
      if (!view) ask(money.envelopeId);
      box.append(el('strong', { textContent: won(money.amount) }), ' ', el('span', { className: 'money-state', textContent: view ? t(view.state) : '…' }));
      if (view?.state === 'Waiting' && view.to === ctx.user.id) {
        const accept = el('button', { type: 'button', className: 'accept', textContent: t('accept') });
        const decline = el('button', { type: 'button', className: 'decline', textContent: t('decline') });
        accept.addEventListener('click', () => answer(money.envelopeId, true));
        decline.addEventListener('click', () => answer(money.envelopeId, false));
        box.append(' ', accept, ' ', decline);
      }
      return box;
    },
    /** @param {() => void} listener called when an envelope's state is known anew */
    onChange(listener) { changed = listener; },
  };
}
