// @ts-check
// The shop's till, served by every node: the keeper (signed in through the app, in this browser) asks
// for a payment, shows its code, and sees it approved by the payer in their app; then captures all or
// part of it, voids it, or refunds it. The state of a payment always comes from the platform's ledger.
// Gift vouchers too: the keeper puts products in the catalog; a customer shows a voucher's code, the till
// holds the voucher while the order is made, then completes it (the shop is paid, once) or releases it.
import { byId, el, input, showError } from '../core/dom.js';
import { prefs } from '../core/prefs.js';
import { Transport, requestId, sleep } from '../core/transport.js';
import { won } from '../features/pay/pay.js';

/** @typedef {{ id: string, name: string, balance: number, approved: number }} MerchantView */
/**
 * @typedef {{ id: string, merchantId: string, merchantName: string, amount: number, code: string,
 *   state: 'Open' | 'Approved' | 'Captured' | 'Voided' | 'Expired', payerId?: string | null, captured: number, refunded: number }} ChargeView
 */

const transport = new Transport({ storageKey: 'haetae.sites', describe: (status, problem) => problem?.detail ?? `HTTP ${status}` });
transport.token = prefs.get('token', /** @type {{ accessToken: string } | null} */ (null))?.accessToken ?? null;
const error = byId('pos-error');
/** @type {ChargeView | null} */
let charge = null;
/** @typedef {{ id: string, name: string, kind: 'Item' | 'Amount', price: number, retired: boolean }} ProductView */
/** @typedef {{ id: string, product: string, kind: string, price: number, state: 'Held' | 'Completed' | 'Released' | 'Lapsed' }} RedemptionView */
/** @type {RedemptionView | null} */
let redemption = null;

/** @param {() => Promise<unknown>} act */
async function attempt(act) {
  error.textContent = '';
  try { await act(); } catch (e) { showError(error, e); }
}

async function loadShops() {
  /** @type {MerchantView[]} */
  const shops = await transport.send('GET', '/api/pay/merchants');
  const pick = byId('shop-pick', HTMLSelectElement);
  const chosen = pick.value;
  pick.replaceChildren(...shops.map((s) => el('option', { value: s.id, textContent: s.name })));
  if (shops.some((s) => s.id === chosen)) pick.value = chosen;
  const shop = shops.find((s) => s.id === pick.value);
  byId('shop-balance').textContent = shop ? won(shop.balance) : '';
  byId('pos-charge').hidden = !shop;
  byId('pos-gifts').hidden = !shop;
  if (shop) await loadProducts(shop.id);
}

/** @param {string} shopId */
async function loadProducts(shopId) {
  /** @type {ProductView[]} */
  const products = await transport.send('GET', `/api/gifts/products?merchantId=${encodeURIComponent(shopId)}`);
  byId('product-list').replaceChildren(...products.map((p) => el('li', { textContent: `${p.name} · ${won(p.price)}${p.retired ? ' · retired' : ''}` })));
}

/** @param {RedemptionView} view */
function showRedemption(view) {
  redemption = view;
  byId('redemption').hidden = false;
  byId('redemption-what').textContent = `${view.product} · ${won(view.price)}`;
  byId('redemption-state').textContent = view.state;
  byId('complete-redemption').hidden = view.state !== 'Held';
  byId('release-redemption').hidden = view.state !== 'Held';
}

/** @param {ChargeView} view */
function show(view) {
  charge = view;
  byId('charge').hidden = false;
  byId('charge-code').textContent = view.code;
  byId('charge-state').textContent = view.state;
  byId('charge-amounts').textContent = `${won(view.amount)} · captured ${won(view.captured)} · refunded ${won(view.refunded)}`;
  byId('capture-form').hidden = view.state !== 'Approved';
  byId('refund-form').hidden = view.state !== 'Captured' || view.refunded >= view.captured;
  if (view.state === 'Approved' && !input('capture-amount').value) input('capture-amount').value = String(view.amount);
}

// Until the payer answers: the till asks the platform about once a second (the code is good for ten minutes).
async function follow() {
  for (let asked = 0; charge && charge.state === 'Open' && asked < 600; asked++) {
    await sleep(1000);
    const id = charge.id;
    try {
      /** @type {ChargeView} */
      const view = await transport.send('GET', `/api/pay/charges/${id}`);
      if (charge?.id === id) show(view);
    } catch { /* another site answers next time */ }
  }
}

byId('open-shop-form').addEventListener('submit', (event) => {
  event.preventDefault();
  attempt(async () => {
    /** @type {MerchantView} */
    const shop = await transport.send('POST', '/api/pay/merchants', { name: input('shop-name').value.trim() }, { id: requestId() });
    input('shop-name').value = '';
    await loadShops();
    byId('shop-pick', HTMLSelectElement).value = shop.id;
    await loadShops();
  });
});
byId('shop-pick').addEventListener('change', () => attempt(loadShops));
byId('charge-form').addEventListener('submit', (event) => {
  event.preventDefault();
  attempt(async () => {
    const shop = byId('shop-pick', HTMLSelectElement).value;
    show(await transport.send('POST', `/api/pay/merchants/${shop}/charges`, { amount: Number(input('charge-amount').value) }, { id: requestId() }));
    input('capture-amount').value = '';
    follow();
  });
});
byId('capture-form').addEventListener('submit', (event) => {
  event.preventDefault();
  attempt(async () => {
    if (!charge) return;
    show(await transport.send('POST', `/api/pay/charges/${charge.id}/capture`, { amount: Number(input('capture-amount').value) }));
    await loadShops();
  });
});
byId('void').addEventListener('click', () => attempt(async () => {
  if (charge) show(await transport.send('POST', `/api/pay/charges/${charge.id}/void`));
}));
byId('refund-form').addEventListener('submit', (event) => {
  event.preventDefault();
  attempt(async () => {
    if (!charge) return;
    show(await transport.send('POST', `/api/pay/charges/${charge.id}/refunds`, { amount: Number(input('refund-amount').value) }, { id: requestId() }));
    input('refund-amount').value = '';
    await loadShops();
  });
});

byId('product-form').addEventListener('submit', (event) => {
  event.preventDefault();
  attempt(async () => {
    const merchantId = byId('shop-pick', HTMLSelectElement).value;
    const body = { merchantId, name: input('product-name').value.trim(), kind: byId('product-kind', HTMLSelectElement).value, price: Number(input('product-price').value) };
    await transport.send('POST', '/api/gifts/products', body, { id: requestId() });
    input('product-name').value = '';
    input('product-price').value = '';
    await loadProducts(merchantId);
  });
});
byId('redeem-form').addEventListener('submit', (event) => {
  event.preventDefault();
  attempt(async () => {
    const merchantId = byId('shop-pick', HTMLSelectElement).value;
    showRedemption(await transport.send('POST', '/api/gifts/redemptions', { merchantId, code: input('voucher-code').value.trim() }, { id: requestId() }));
  });
});
byId('complete-redemption').addEventListener('click', () => attempt(async () => {
  if (!redemption) return;
  showRedemption(await transport.send('POST', `/api/gifts/redemptions/${redemption.id}/complete`));
  input('voucher-code').value = '';
  await loadShops();
}));
byId('release-redemption').addEventListener('click', () => attempt(async () => {
  if (redemption) showRedemption(await transport.send('POST', `/api/gifts/redemptions/${redemption.id}/release`));
}));

transport.onSiteChange = () => { byId('site').textContent = transport.current ? `→ ${transport.current.name}` : ''; };
await transport.discover();
if (!transport.token) {
  byId('pos-signed-out').hidden = false;
} else {
  byId('pos-shop').hidden = false;
  await attempt(loadShops);
}
