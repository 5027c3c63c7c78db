// @ts-check
// The page's language (Korean or English, the browser's by default, switched by a button) and the
// strings of every feature, which each feature adds for itself. Elements with data-t="key" are
// translated in place.
import { prefs } from './prefs.js';

/** @typedef {'ko' | 'en'} Lang */
/** @typedef {Record<string, string>} Strings */

export class I18n {
  constructor() {
    /** @type {Lang} */
    this.lang = prefs.get('lang', (navigator.language || 'ko').startsWith('ko') ? 'ko' : 'en');
    /** @type {Record<Lang, Strings>} */
    this.strings = { en: {}, ko: {} };
    /** @type {(() => void)[]} called after the language changed */
    this.listeners = [];
  }

  /** @param {Record<Lang, Strings>} strings */
  add(strings) {
    Object.assign(this.strings.en, strings.en);
    Object.assign(this.strings.ko, strings.ko);
  }

  /** @param {string} key */
  t(key) {
    return this.strings[this.lang][key] ?? this.strings.en[key] ?? key;
  }

  /**
   * A refusal in the page's language; in English the node's own detail says more.
   * @param {number} status
   * @param {{ title?: string, detail?: string } | null} problem
   */
  describe(status, problem) {
    const key = status >= 500 ? 'e5xx' : `e${status}`;
    if (this.lang === 'en' && problem?.detail) return problem.detail;
    return this.strings[this.lang][key] ?? problem?.detail ?? problem?.title ?? `HTTP ${status}`;
  }

  /** @param {() => void} listener */
  onChange(listener) { this.listeners.push(listener); }

  toggle() {
    this.lang = this.lang === 'ko' ? 'en' : 'ko';
    prefs.set('lang', this.lang);
    this.apply();
  }

  apply() {
    document.documentElement.lang = this.lang;
    for (const element of document.querySelectorAll('[data-t]')) {
      if (element instanceof HTMLElement && element.dataset.t) element.textContent = this.t(element.dataset.t);
    }
    for (const listener of this.listeners) listener();
  }
}
