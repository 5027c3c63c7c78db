// @ts-check
// Rides: the fleet's scooters on a map (SVG, drawn here: no tiles from the internet), unlocking one,
// the ride in progress with its running fare, and the history with each fare explained. A ride ends
// through the platform, which asks the scooter to lock; when the platform (or the scooter's network)
// cannot be reached, the phone asks the scooter itself over the short-range channel: it locks at once
// and hands over its signed receipt, which the outbox uploads when a site answers again.
import { byId, el, renderKeyed, showError } from '../../core/dom.js';
import { ApiError, requestId } from '../../core/transport.js';
import { won } from '../pay/pay.js';

/** @typedef {import('../../core/context.js').Context} Context */
/** @typedef {{ id: string, x: number, y: number, battery: number, available: boolean, shortRange?: string | null }} ScooterView */
/** @typedef {{ startFee: number, perMinute: number, cap: number }} RidePricing */
/** @typedef {{ startFee: number, perMinute: number, minutes: number, outageMinutes: number, cap: number, total: number, capped: boolean }} RideFare */
/**
 * @typedef {{ id: string, scooterId: string, riderId: string, state: 'Riding' | 'Ended', unlocked: string, locked?: string | null,
 *   endedThrough?: string | null, pricing: RidePricing, fare?: RideFare | null, shortRange?: string | null }} RideView
 */

const strings = {
  en: {
    scooters: 'Scooters', map: 'Scooters nearby (a green dot is free)', unlock: 'Unlock', battery: 'battery', inUse: 'in use', riding: 'Riding',
    since: 'since', soFar: 'so far', endRide: 'End ride', noRide: 'No ride in progress', rideHistory: 'Rides', noRides: 'No rides yet',
    endedThrough: 'ended through', phone: 'your phone, next to the scooter', scooter: 'the scooter\'s network', settling: 'ended at the scooter; the fare is settled once a site answers',
    minutes: 'min', outage: 'outage minutes not billed', capped: 'capped', start: 'start', closeRides: 'Close', lockedAt: 'locked at',
  },
  ko: {
    scooters: '킥보드', map: '주변 킥보드 (초록 점은 이용 가능)', unlock: '잠금 해제', battery: '배터리', inUse: '사용 중', riding: '이용 중',
    since: '시작', soFar: '현재 요금', endRide: '이용 종료', noRide: '이용 중인 킥보드가 없습니다', rideHistory: '이용 내역', noRides: '이용 내역이 없습니다',
    endedThrough: '종료 경로', phone: '킥보드 옆의 내 휴대폰', scooter: '킥보드의 네트워크', settling: '킥보드에서 종료됨. 사이트가 응답하면 요금이 정산됩니다',
    minutes: '분', outage: '장애 시간 미청구', capped: '상한 적용', start: '기본', closeRides: '닫기', lockedAt: '잠금 시각',
  },
};

const svgNs = 'http://www.w3.org/2000/svg';

/** @param {Context} ctx */
export function rides(ctx) {
  ctx.i18n.add(strings);
  const t = (/** @type {string} */ key) => ctx.t(key);
  const section = byId('rides');
  const error = byId('rides-error');
  /** @type {RideView | null} */
  let current = null;
  /** @type {ReturnType<typeof setInterval> | null} */
  let ticking = null;
  const time = (/** @type {string} */ iso) => new Date(iso).toLocaleTimeString(ctx.i18n.lang === 'ko' ? 'ko-KR' : 'en-GB');

  /** The running fare, as the platform will compute it from the scooter's signed times (each minute begun counts). @param {RideView} ride */
  function running(ride) {
    const minutes = Math.max(1, Math.ceil((Date.now() - Date.parse(ride.unlocked)) / 60000));
    return Math.min(ride.pricing.cap, ride.pricing.startFee + minutes * ride.pricing.perMinute);
  }

  /** @param {RideFare} f */
  const explain = (f) => `${t('start')} ${won(f.startFee)} + ${f.minutes} ${t('minutes')} × ${won(f.perMinute)}${f.capped ? ` (${t('capped')} ${won(f.cap)})` : ''} = ${won(f.total)}`
    + (f.outageMinutes > 0 ? ` · ${f.outageMinutes} ${t('outage')}` : '');

  function renderRide() {
    const panel = byId('ride-now');
    byId('end-ride').hidden = !current || current.state !== 'Riding' || Boolean(current.locked);
    if (!current || current.state === 'Ended') {
      panel.textContent = t('noRide');
      if (ticking) { clearInterval(ticking); ticking = null; }
      return;
    }
    panel.textContent = current.locked
      ? `${current.scooterId} · ${t('settling')}`
      : `${t('riding')} ${current.scooterId} · ${t('since')} ${time(current.unlocked)} · ${t('soFar')} ${won(running(current))}`;
    if (!ticking) ticking = setInterval(renderRide, 1000);
  }

  /** @param {ScooterView[]} scooters */
  function renderMap(scooters) {
    const map = document.getElementById('ride-map');
    if (!(map instanceof SVGSVGElement)) return;
    map.replaceChildren(...scooters.map((s) => {
      const dot = document.createElementNS(svgNs, 'circle');
      dot.setAttribute('cx', String(s.x));
      dot.setAttribute('cy', String(s.y));
      dot.setAttribute('r', '2.2');
      dot.setAttribute('class', s.available ? 'scooter free' : 'scooter busy');
      const label = document.createElementNS(svgNs, 'title');
      label.textContent = `${s.id} · ${t('battery')} ${s.battery}%`;
      dot.append(label);
      return dot;
    }));
    renderKeyed(byId('scooter-list'), scooters, (s) => s.id, (s) => JSON.stringify([s, ctx.i18n.lang, Boolean(current && current.state === 'Riding')]), (s) => {
      const item = el('li', { className: 'scooter-item' }, `${s.id} · ${t('battery')} ${s.battery}% · ${s.available ? '' : t('inUse')}`);
      if (s.available && !(current && current.state === 'Riding')) {
        const unlock = el('button', { type: 'button', className: 'unlock', textContent: `${t('unlock')} ${s.id}` });
        unlock.addEventListener('click', () => attempt(() => start(s.id)));
        item.append(' ', unlock);
      }
      return item;
    });
  }

  async function render() {
    /** @type {[ScooterView[], RideView[]]} */
    const [scooters, mine] = await Promise.all([ctx.api('GET', '/api/rides/scooters'), ctx.api('GET', '/api/rides')]);
    const riding = mine.find((r) => r.state === 'Riding');
    if (!current || current.state === 'Ended' || !current.locked) current = riding ?? (current && mine.find((r) => r.id === current?.id)) ?? null;
    renderRide();
    renderMap(scooters);
    renderKeyed(byId('ride-history'), mine.filter((r) => r.state === 'Ended'), (r) => r.id, (r) => JSON.stringify([r, ctx.i18n.lang]), (r) => el('li', { className: 'ride' },
      `${r.scooterId} · ${time(r.unlocked)}–${r.locked ? time(r.locked) : ''} · ${r.fare ? explain(r.fare) : '…'} · ${t('endedThrough')}: ${t(r.endedThrough ?? 'scooter')}`));
  }

  /** @param {() => Promise<unknown>} act */
  async function attempt(act) {
    error.textContent = '';
    try { await act(); } catch (e) { showError(error, e); }
  }

  /** @param {string} scooterId */
  async function start(scooterId) {
    current = await ctx.api('POST', '/api/rides', { scooterId }, { id: requestId() });
    await render();
  }

  async function end() {
    const ride = current;
    if (!ride) return;
    try {
      current = await ctx.api('POST', `/api/rides/${ride.id}/end`);
      await render();
      return;
    } catch (e) {
      // The platform (or the scooter's network) cannot be reached: the phone asks the scooter next to it.
      const unreachable = e instanceof ApiError && (e.status >= 500 || e.problem?.title === 'Scooter unreachable');
      if (!unreachable || !ride.shortRange) throw e;
    }
    const answer = await fetch(ride.shortRange, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ rideId: ride.id, riderId: ctx.user.id }),
    });
    if (!answer.ok) throw new Error(`the scooter refused: HTTP ${answer.status}`);
    /** @type {{ payload: string, signature: string }} */
    const receipt = await answer.json();
    const locked = JSON.parse(atob(receipt.payload)).at;
    current = { ...ride, locked };
    renderRide();
    await ctx.outbox.add(requestId(), 'ride-lock', { rideId: ride.id, payload: receipt.payload, signature: receipt.signature });
  }

  ctx.outbox.register('ride-lock', async (entry) => {
    /** @type {RideView} */
    const view = await ctx.api('POST', '/api/rides/events?from=phone', { payload: entry.body.payload, signature: entry.body.signature });
    if (current?.id === view.id) current = view;
    if (!section.hidden) await render();
  });

  ctx.router.add(/^#\/rides$/, async () => {
    section.hidden = false;
    await attempt(render);
  });
  ctx.router.onLeave(() => { section.hidden = true; });
  byId('open-rides').addEventListener('click', () => ctx.router.go('#/rides'));
  byId('close-rides').addEventListener('click', () => ctx.router.go('#/'));
  byId('end-ride').addEventListener('click', () => attempt(end));
  byId('rides-map-title').textContent = t('map');
}
