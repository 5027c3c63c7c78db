// @ts-check
// Notices: what the platform tells people about outages, pushed over the realtime connection (a
// "notice" frame holds every notice that stands; an empty one clears them). An open incident is a
// banner; a resolved one says so for an hour; for 30 days after, how to claim damages. Each links to
// the incident on the status page, which every site serves.
import { byId, el } from '../../core/dom.js';

/** @typedef {import('../../core/context.js').Context} Context */
/** @typedef {{ incidentId: string, kind: 'Incident' | 'Resolved' | 'Damages', title: string, titleKo: string, text: string, textKo: string, at: string, link: string }} Notice */

const strings = {
  en: { noticeIncident: 'Service problem', noticeResolved: 'Resolved', noticeDamages: 'Claiming damages', noticeMore: 'Details on the status page' },
  ko: { noticeIncident: '서비스 장애', noticeResolved: '복구됨', noticeDamages: '손해배상 청구 안내', noticeMore: '상태 페이지에서 자세히 보기' },
};

/** @param {Context} ctx */
export function notices(ctx) {
  ctx.i18n.add(strings);
  /** @type {Notice[]} */
  let current = [];

  function render() {
    const region = byId('notices');
    const ko = ctx.i18n.lang === 'ko';
    region.replaceChildren(...current.map((n) => {
      const [page, anchor] = n.link.split('#');
      const box = el('div', { className: `notice notice-${n.kind.toLowerCase()}` },
        el('strong', {}, `${ctx.t(`notice${n.kind}`)}: ${ko ? n.titleKo : n.title}`), ' ',
        el('span', {}, ko ? n.textKo : n.text), ' ',
        el('a', { href: `${page}?lang=${ctx.i18n.lang}${anchor ? `#${anchor}` : ''}` }, ctx.t('noticeMore')));
      box.dataset.incident = n.incidentId;
      box.dataset.kind = n.kind;
      return box;
    }));
    region.hidden = current.length === 0;
  }

  ctx.realtime.on('notice', (/** @type {{ notices: Notice[] }} */ frame) => { current = frame.notices; render(); });
  ctx.i18n.onChange(render);
}
