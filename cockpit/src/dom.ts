// SPDX-License-Identifier: GPL-2.0-or-later
// A few lines of DOM building: text always goes in as text (interface names and messages come
// from the host), never as HTML.
import { _ } from './i18n';

type Child = Node | string | false | null | undefined;
type Attributes = Record<string, string | boolean | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(key, '');
    else if (typeof value === 'string') element.setAttribute(key, value);
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

const SVG = 'http://www.w3.org/2000/svg';

/** Icons as inline SVG (PatternFly's icon paths would need its icon font; these are small). */
const ICON_PATHS = {
  check: 'M13.5 3.5 6 11 2.5 7.5 1 9l5 5 9-9z',
  warning: 'M8 1 0 15h16zm-1 5h2v5H7zm0 6h2v2H7z',
  danger: 'M8 0a8 8 0 1 0 0 16A8 8 0 0 0 8 0zM7 4h2v5H7zm0 6h2v2H7z',
  info: 'M8 0a8 8 0 1 0 0 16A8 8 0 0 0 8 0zM7 7h2v5H7zm0-3h2v2H7z',
  copy: 'M4 0h9l3 3v9h-4v4H0V4h4zm2 2v8h8V4l-2-2zM2 6v8h8v-2H4V6z',
  close: 'M2 0 0 2l6 6-6 6 2 2 6-6 6 6 2-2-6-6 6-6-2-2-6 6z',
  search: 'M6.5 0a6.5 6.5 0 0 1 5.2 10.4l4.3 4.2-1.4 1.4-4.2-4.3A6.5 6.5 0 1 1 6.5 0zm0 2a4.5 4.5 0 1 0 0 9 4.5 4.5 0 0 0 0-9z',
} as const;

export function icon(name: keyof typeof ICON_PATHS): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', '1em');
  svg.setAttribute('height', '1em');
  svg.setAttribute('fill', 'currentColor');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', ICON_PATHS[name]);
  svg.appendChild(path);
  return svg;
}

export type AlertVariant = 'danger' | 'warning' | 'info' | 'success';

/** What a screen reader says before an alert's title. */
function alertKind(variant: AlertVariant): string {
  switch (variant) {
    case 'danger': return _('Danger alert:');
    case 'warning': return _('Warning alert:');
    case 'info': return _('Info alert:');
    case 'success': return _('Success alert:');
  }
}

/** A PatternFly inline alert. */
export function alert(variant: AlertVariant, title: string, ...body: Child[]): HTMLElement {
  const iconName = variant === 'success' ? 'check' : variant;
  const hasBody = body.some((b) => b !== false && b !== null && b !== undefined && b !== '');
  return h('div', { class: `pf-v6-c-alert pf-m-inline pf-m-${variant}`, role: variant === 'danger' || variant === 'warning' ? 'alert' : 'status' },
    h('div', { class: 'pf-v6-c-alert__icon' }, icon(iconName)),
    h('p', { class: 'pf-v6-c-alert__title' }, h('span', { class: 'pf-v6-screen-reader' }, alertKind(variant)), title),
    hasBody ? h('div', { class: 'pf-v6-c-alert__description' }, ...body) : null);
}

export function button(label: string, variant: 'primary' | 'secondary' | 'link' | 'danger' | 'plain', onClick: () => void, extra: Attributes = {}): HTMLButtonElement {
  return h('button', { type: 'button', class: `pf-v6-c-button pf-m-${variant}`, onclick: () => onClick(), ...extra },
    h('span', { class: 'pf-v6-c-button__text' }, label));
}

export function spinner(label: string): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'pf-v6-c-spinner pf-m-md');
  svg.setAttribute('role', 'progressbar');
  svg.setAttribute('viewBox', '0 0 100 100');
  svg.setAttribute('aria-label', label);
  const circle = document.createElementNS(SVG, 'circle');
  for (const [k, v] of [['class', 'pf-v6-c-spinner__path'], ['cx', '50'], ['cy', '50'], ['r', '45'], ['fill', 'none']]) circle.setAttribute(k ?? '', v ?? '');
  svg.appendChild(circle);
  return svg;
}
