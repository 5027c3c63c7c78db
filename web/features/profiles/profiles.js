// @ts-check
// My profiles: the default one (everyone else sees it) and extra ones, each shown to the friends I
// pick. Friends' profiles change over the realtime socket (a profile frame), as they see me or I them.
import { byId, el, renderKeyed, showError } from '../../core/dom.js';
import { requestId } from '../../core/transport.js';

/** @typedef {import('../../core/context.js').Context} Context */
/** @typedef {import('../../core/context.js').UserView} UserView */
/** @typedef {{ id: string, displayName: string, statusMessage?: string | null, photoId?: string | null, friendIds: string[] }} ProfileView */

const strings = {
  en: {
    profiles: 'Profiles', addProfile: 'Add a profile', close: 'Close', save: 'Save', remove: 'Delete',
    defaultProfile: 'Default profile (everyone else)', status: 'Status message', shownTo: 'Shown to',
  },
  ko: {
    profiles: '프로필', addProfile: '프로필 추가', close: '닫기', save: '저장', remove: '삭제',
    defaultProfile: '기본 프로필 (그 외 모두)', status: '상태 메시지', shownTo: '보여줄 친구',
  },
};

/** @param {Context} ctx */
export function profiles(ctx) {
  ctx.i18n.add(strings);
  const t = (/** @type {string} */ key) => ctx.t(key);
  const section = byId('profiles');
  const error = byId('profile-error');

  // Renders can overlap (opening the page, then adding a profile at once): only the last one started
  // draws, and an editor whose profile did not change is kept, so what is typed in it stays.
  let renders = 0;
  async function render() {
    const ticket = ++renders;
    /** @type {[{ default: ProfileView, extras: ProfileView[] }, { friends: UserView[] }]} */
    const [mine, friends] = await Promise.all([ctx.api('GET', '/api/profiles'), ctx.api('GET', '/api/friends')]);
    if (ticket !== renders) return;
    const all = [{ profile: mine.default, isDefault: true }, ...mine.extras.map((profile) => ({ profile, isDefault: false }))];
    renderKeyed(byId('profile-editors'), all, (p) => (p.isDefault ? 'default' : p.profile.id),
      (p) => JSON.stringify([p.profile, friends.friends, ctx.i18n.lang]), (p) => editor(p.profile, p.isDefault, friends.friends));
  }

  /** @param {() => Promise<unknown>} act */
  async function attempt(act) {
    error.textContent = '';
    try { await act(); } catch (e) { showError(error, e); }
  }

  /** @param {ProfileView} profile @param {boolean} isDefault @param {UserView[]} friends */
  function editor(profile, isDefault, friends) {
    const form = el('form', { className: 'profile-editor' });
    const key = isDefault ? 'default' : profile.id;
    /** @param {string} name @param {string} label @param {string | null | undefined} value @param {number | undefined} length */
    const field = (name, label, value, length) => {
      const id = `profile-${key}-${name}`;
      const box = el('input', { id, name, value: value ?? '' });
      if (length) box.maxLength = length;
      return el('div', {}, el('label', { htmlFor: id, textContent: label }), box);
    };
    form.append(el('h3', { textContent: isDefault ? t('defaultProfile') : profile.displayName }),
      field('displayName', t('name'), profile.displayName, ctx.limits?.displayNameLength),
      field('statusMessage', t('status'), profile.statusMessage, ctx.limits?.statusLength));
    if (!isDefault) {
      const set = el('fieldset', {}, el('legend', { textContent: t('shownTo') }));
      for (const friend of friends) {
        const id = `profile-${key}-friend-${friend.id}`;
        const box = el('input', { type: 'checkbox', id, value: friend.id, checked: profile.friendIds.includes(friend.id) });
        box.addEventListener('change', async () => {
          try {
            await ctx.api(box.checked ? 'PUT' : 'DELETE', `/api/profiles/${profile.id}/friends/${friend.id}`);
          } catch (e) { showError(error, e); box.checked = !box.checked; }
        });
        set.append(box, el('label', { htmlFor: id, textContent: friend.displayName }));
      }
      form.append(set);
    }
    form.append(el('button', { type: 'submit', textContent: t('save') }));
    if (!isDefault) {
      const remove = el('button', { type: 'button', textContent: t('remove') });
      remove.addEventListener('click', () => attempt(async () => { await ctx.api('DELETE', `/api/profiles/${profile.id}`); await render(); }));
      form.append(remove);
    }
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value;
      const body = { displayName: value('displayName'), statusMessage: value('statusMessage') || null, photoId: profile.photoId ?? null };
      attempt(async () => { await ctx.api('PUT', isDefault ? '/api/profiles/default' : `/api/profiles/${profile.id}`, body); await render(); });
    });
    return form;
  }

  ctx.router.add(/^#\/profiles$/, async () => {
    section.hidden = false;
    await render();
  });
  ctx.router.onLeave(() => { section.hidden = true; });
  ctx.realtime.on('profile', (/** @type {{ profile: UserView }} */ { profile }) => {
    ctx.people.set(profile.id, profile);
    ctx.render();
  });
  byId('open-profiles').addEventListener('click', () => ctx.router.go('#/profiles'));
  byId('close-profiles').addEventListener('click', () => ctx.router.go('#/'));
  byId('add-profile').addEventListener('click', () => attempt(async () => {
    await ctx.api('POST', '/api/profiles', { displayName: `${ctx.user.displayName} 2`, statusMessage: null, photoId: null }, { id: requestId() });
    await render();
  }));
}
