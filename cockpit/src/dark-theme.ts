// SPDX-License-Identifier: GPL-2.0-or-later
// Follows the shell's style, as Cockpit's own pages do (pkg/lib/cockpit-dark-theme): the user's
// choice in localStorage "shell:style" (dark, light, or auto: the system's), applied as
// PatternFly 6's pf-v6-theme-dark class on <html>. The shell changes the key from another
// document of the same origin, so the page hears it as a "storage" event.

const STYLE_KEY = 'shell:style';

function apply(): void {
  const style = localStorage.getItem(STYLE_KEY) ?? 'auto';
  const dark = style === 'dark' || (style === 'auto' && window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.classList.toggle('pf-v6-theme-dark', dark);
}

export function followShellStyle(): void {
  window.addEventListener('storage', (event) => { if (event.key === STYLE_KEY) apply(); });
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', apply);
  apply();
}
