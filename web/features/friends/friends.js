// @ts-check
// Friends: added by ID, phone or e-mail, listed (as each shows themselves to me) with a box to pick
// them for a new chat.
import { byId, el, input, showError } from '../../core/dom.js';
import { loginFields } from '../account/account.js';

/** @typedef {import('../../core/context.js').Context} Context */
/** @typedef {import('../../core/context.js').UserView} UserView */

const strings = {
  en: { friends: 'Friends', addFriend: 'Add a friend (ID, phone or e-mail)', add: 'Add', noFriends: 'No friends yet' },
  ko: { friends: '친구', addFriend: '친구 추가 (ID, 전화번호 또는 이메일)', add: '추가', noFriends: '친구가 없습니다' },
};

/** @param {Context} ctx */
export function friends(ctx) {
  ctx.i18n.add(strings);
  const list = byId('friend-list');
  const error = byId('side-error');

  async function load() {
    /** @type {{ friends: UserView[] }} */
    const answer = await ctx.api('GET', '/api/friends');
    list.replaceChildren();
    for (const friend of answer.friends) {
      ctx.people.set(friend.id, friend);
      const box = el('input', { type: 'checkbox', id: `pick-${friend.id}`, value: friend.id, name: 'member' });
      const label = el('label', { htmlFor: box.id, textContent: friend.displayName + (friend.statusMessage ? ` — ${friend.statusMessage}` : '') });
      list.append(el('li', {}, box, label));
    }
    if (answer.friends.length === 0) list.append(el('li', { textContent: ctx.t('noFriends') }));
  }

  byId('add-friend-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const who = input('friend-who').value.trim();
    error.textContent = '';
    const request = /^u[0-9a-f]{20}$/.test(who) ? { userId: who } : loginFields(who);
    try {
      await ctx.api('POST', '/api/friends', request);
      input('friend-who').value = '';
      await load();
    } catch (e) { showError(error, e); }
  });

  return {
    load,
    /** The friends picked for a new chat. */
    picked() { return [...list.querySelectorAll('input:checked')].map((box) => /** @type {HTMLInputElement} */ (box)); },
  };
}
