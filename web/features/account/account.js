// @ts-check
// Signing up, in and out. The token is kept in this browser and carried by every call; every site
// accepts it until it expires or its session is signed out.
import { byId, input, showError } from '../../core/dom.js';
import { prefs } from '../../core/prefs.js';
import { requestId } from '../../core/transport.js';

/** @typedef {import('../../core/context.js').Context} Context */

const strings = {
  en: {
    welcome: 'Welcome', signIn: 'Sign in', signUp: 'Sign up', login: 'Phone or e-mail', password: 'Password',
    newPassword: 'Password (8 or more characters)', name: 'Name', me: 'Me', signOut: 'Sign out',
  },
  ko: {
    welcome: '환영합니다', signIn: '로그인', signUp: '가입하기', login: '전화번호 또는 이메일', password: '비밀번호',
    newPassword: '비밀번호 (8자 이상)', name: '이름', me: '나', signOut: '로그아웃',
  },
};

/** A phone number or an e-mail address, as the API takes it. @param {string} value */
export function loginFields(value) {
  const login = value.trim();
  return login.includes('@') ? { email: login } : { phone: login };
}

/**
 * @param {Context} ctx
 * @param {() => Promise<void>} signedIn starts the signed-in app once `ctx.me` is known
 */
export function account(ctx, signedIn) {
  ctx.i18n.add(strings);
  ctx.transport.onUnauthorized = () => signOut();

  async function start() {
    const me = await ctx.api('GET', '/api/me');
    ctx.me = me;
    ctx.people.set(me.id, me);
    byId('auth').hidden = true;
    byId('app').hidden = false;
    byId('sign-out').hidden = false;
    byId('me-name').textContent = me.displayName;
    byId('me-id').textContent = me.id;
    await signedIn();
  }

  /** @param {string} login @param {string} password */
  async function signIn(login, password) {
    const token = await ctx.api('POST', '/api/sessions', { login, password });
    ctx.token = token;
    ctx.transport.token = token.accessToken;
    prefs.set('token', token);
    await start();
  }

  function signOut() {
    const token = ctx.token;
    ctx.token = null;
    ctx.transport.token = null;
    prefs.drop('token');
    ctx.realtime.stop();
    if (token) fetch(`${ctx.transport.current.url}/api/sessions/current`, { method: 'DELETE', headers: { Authorization: `Bearer ${token.accessToken}` } }).catch(() => {});
    location.reload();
  }

  const error = byId('auth-error');
  byId('sign-out').addEventListener('click', signOut);
  byId('sign-in-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    try { await signIn(input('in-login').value.trim(), input('in-password').value); } catch (e) { showError(error, e); }
  });
  byId('sign-up-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const login = input('up-login').value.trim();
    const password = input('up-password').value;
    try {
      await ctx.api('POST', '/api/accounts', { ...loginFields(login), displayName: input('up-name').value, password }, { id: requestId() });
      await signIn(login, password);
    } catch (e) { showError(error, e); }
  });

  return {
    /** Applies the node's limits to the sign-up form. @param {import('../../core/context.js').Limits} limits */
    limit(limits) {
      input('up-name').maxLength = limits.displayNameLength;
      input('up-password').minLength = limits.passwordMinLength;
      input('up-password').maxLength = limits.passwordMaxLength;
    },
    /** Signs in again with the token this browser kept, if there is one. */
    async resume() {
      if (!ctx.token) return;
      try { await start(); } catch { /* signed out or no site: the sign-in form stays */ }
    },
  };
}
