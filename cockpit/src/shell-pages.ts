// SPDX-License-Identifier: GPL-2.0-or-later
// The shell's other pages this one links to, where the host has them: Cockpit's Networking page
// (the same NIC and bridge, as NetworkManager shows them) and Virtual Machines (where a guest is
// attached to the bridge). cockpit-ws lists the host's pages in manifests.json.

export interface ShellPages {
  readonly networking: boolean;
  readonly machines: boolean;
}

export const NO_PAGES: ShellPages = { networking: false, machines: false };

export async function shellPages(): Promise<ShellPages> {
  try {
    const response = await fetch('../manifests.json');
    if (!response.ok) return NO_PAGES;
    const manifests: unknown = await response.json();
    const has = (name: string) => typeof manifests === 'object' && manifests !== null && name in manifests;
    return { networking: has('network'), machines: has('machines') };
  } catch {
    // Not served by cockpit-ws (the page alone): no links, nothing else lost.
    return NO_PAGES;
  }
}

/** A link that shows another page of the shell (cockpit.jump keeps the shell around it). */
export function jumpLink(text: string, path: string, label?: string): HTMLAnchorElement {
  const link = document.createElement('a');
  link.className = 'pf-v6-c-button pf-m-link pf-m-inline';
  link.href = `#${path}`;
  link.textContent = text;
  link.dataset['jump'] = path;
  if (label !== undefined) link.setAttribute('aria-label', label);
  link.addEventListener('click', (event) => {
    event.preventDefault();
    cockpit.jump(path);
  });
  return link;
}
