// @ts-check
// What this browser remembers between visits (the token, the language, drafts), in localStorage.
// Small text only: what is being sent lives in the outbox (IndexedDB).

export const prefs = {
  /**
   * @template T
   * @param {string} key
   * @param {T} fallback
   * @returns {T}
   */
  get(key, fallback) {
    try { return JSON.parse(localStorage.getItem(`haetae.${key}`) ?? 'null') ?? fallback; } catch { return fallback; }
  },
  /** @param {string} key @param {unknown} value */
  set(key, value) { localStorage.setItem(`haetae.${key}`, JSON.stringify(value)); },
  /** @param {string} key */
  drop(key) { localStorage.removeItem(`haetae.${key}`); },
};
