// @ts-check
// The page's elements, typed: an id that is missing or of another kind is a bug, said at once.

/**
 * The element with this id, of this kind.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new (...args: any[]) => T} [kind]
 * @returns {T}
 */
export function byId(id, kind) {
  const element = document.getElementById(id);
  const type = kind ?? HTMLElement;
  if (!(element instanceof type)) throw new Error(`#${id} is not a ${type.name}`);
  return /** @type {T} */ (element);
}

/** @param {string} id */
export const input = (id) => byId(id, HTMLInputElement);

/**
 * A new element with these properties and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Partial<HTMLElementTagNameMap[K]>} [properties]
 * @param {(Node | string)[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, properties = {}, ...children) {
  const element = Object.assign(document.createElement(tag), properties);
  element.append(...children);
  return element;
}

/**
 * Keyed rendering: the list shows these items in this order, and an item whose key and version are
 * what the list shows already keeps its element (so a receipt re-renders one line, not the list, and
 * neither focus nor scrolling moves).
 * @template V
 * @param {HTMLElement} list
 * @param {V[]} items
 * @param {(item: V) => string} key
 * @param {(item: V) => string} version everything the element shows, as one string
 * @param {(item: V) => HTMLElement} render
 */
export function renderKeyed(list, items, key, version, render) {
  /** @type {Map<string, HTMLElement>} */
  const shown = new Map();
  for (const child of [...list.children]) {
    if (child instanceof HTMLElement && child.dataset.key !== undefined) shown.set(child.dataset.key, child);
    else child.remove();
  }
  /** @type {ChildNode | null} */
  let cursor = list.firstChild;
  for (const item of items) {
    const k = key(item);
    const v = version(item);
    let element = shown.get(k);
    shown.delete(k);
    if (!element || element.dataset.version !== v) {
      const fresh = render(item);
      fresh.dataset.key = k;
      fresh.dataset.version = v;
      if (element) {
        if (cursor === element) cursor = fresh;
        element.replaceWith(fresh);
      }
      element = fresh;
    }
    if (element !== cursor) list.insertBefore(element, cursor);
    else cursor = cursor.nextSibling;
  }
  for (const stale of shown.values()) stale.remove();
}

/** Shows what went wrong in an element (an ApiError's message is already in the page's language). @param {HTMLElement} target @param {unknown} error */
export function showError(target, error) {
  target.textContent = error instanceof Error ? error.message : String(error);
}
