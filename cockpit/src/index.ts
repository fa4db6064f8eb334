// SPDX-License-Identifier: GPL-2.0-or-later
// The page: the host's interfaces from ListInterfaces (every one with "Show all interfaces"), kept
// current by the service's signals (InterfacesChanged, and PropertiesChanged of Shared and Pending),
// filtered and shown a page of rows at a time, with Share and Unshare for a session that may change
// the network.
import type { ListedInterface, PendingChange, ProgressStep } from './api';
import { alert, h, replaceChildren, spinner } from './dom';
import { followShellStyle } from './dark-theme';
import { _, format } from './i18n';
import { NO_PAGES, shellPages, type ShellPages } from './shell-pages';
import { errorAlert } from './error-alert';
import { guestSnippetsView } from './guest-snippets-view';
import { interfaceTable } from './interface-table';
import { listingToolbar, moreRows, noMatch } from './listing-toolbar';
import { listingView, ROWS_PER_PAGE } from './listing-view';
import { SharedInterfaceService } from './service';
import { StepList } from './progress-steps';
import { openShareDialog } from './share-dialog';
import { openUnshareDialog } from './unshare-dialog';

/** Signals come in bursts (Shared, Pending and InterfacesChanged after a Share): one refresh per burst. */
const COALESCE_MS = 150;

/** A finished change's steps, folded (none where the service sends no Progress). */
function whatWasDone(steps: StepList): HTMLElement | null {
  return steps.empty ? null : h('details', { class: 'si-done' }, h('summary', {}, _('What was done')), steps.element);
}

class Page {
  private interfaces: ListedInterface[] | undefined;
  /** ListInterfacesFiltered's all: also what a person's listing leaves out. */
  private showAll = false;
  private filter = '';
  /** Rows shown of those matching the filter: a page more at each "Show more". */
  private limit = ROWS_PER_PAGE;
  private pending: ReadonlyMap<string, PendingChange> = new Map();
  private backend = '';
  private confirms = false;
  private listError: unknown;
  /** The last Keep or Undo's failure, shown until the next action. */
  private actionError: unknown;
  private disconnected: string | undefined;
  /** The last change's outcome, shown while the interface is still in that state. */
  private notice: { readonly nic: string; readonly shared: boolean; readonly element: HTMLElement } | undefined;
  private readonly busy = new Set<string>();
  /** The steps of each interface's last change, shown in its dialog and then in its notice. */
  private readonly steps = new Map<string, StepList>();
  private refreshing = false;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly service: SharedInterfaceService;
  private readonly permission = cockpit.permission({ admin: true });
  private pages: ShellPages = NO_PAGES;

  constructor(private readonly root: HTMLElement) {
    this.service = new SharedInterfaceService({
      changed: () => this.scheduleRefresh(),
      progress: (step) => this.progress(step),
      disconnected: (message) => { this.disconnected = message; this.render(); },
    });
    this.permission.addEventListener('changed', () => this.render());
  }

  start(): void {
    this.render();
    void this.refresh();
    void shellPages().then((pages) => { this.pages = pages; this.render(); });
  }

  /** Read-only until Cockpit says the session has administrative access. */
  private get writable(): boolean {
    return this.permission.allowed === true;
  }

  private scheduleRefresh(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => { this.timer = undefined; void this.refresh(); }, COALESCE_MS);
  }

  private async refresh(): Promise<void> {
    if (this.refreshing) { this.again = true; return; }
    this.refreshing = true;
    try {
      do {
        this.again = false;
        try {
          [this.interfaces, this.pending, this.backend, this.confirms] = await Promise.all([
            this.service.list(this.showAll), this.service.pending(), this.service.backend(), this.service.canConfirm()]);
          this.listError = undefined;
        } catch (err) {
          this.listError = err;
        }
      } while (this.again);
    } finally {
      this.refreshing = false;
    }
    this.render();
  }

  private filterChanged(filter: string): void {
    this.filter = filter;
    this.limit = ROWS_PER_PAGE;
    this.render();
  }

  private showAllChanged(showAll: boolean): void {
    this.showAll = showAll;
    this.limit = ROWS_PER_PAGE;
    this.render();
    void this.refresh();
  }

  private progress(step: ProgressStep): void {
    this.steps.get(step.nic)?.add(step);
  }

  private newSteps(nic: string): StepList {
    const steps = new StepList(nic);
    this.steps.set(nic, steps);
    return steps;
  }

  private share(nic: ListedInterface): void {
    this.actionError = undefined;
    const taken = new Set((this.interfaces ?? []).map((i) => i.name));
    this.busy.add(nic.name);
    this.notice = undefined;
    this.render();
    const steps = this.newSteps(nic.name);
    openShareDialog(this.service, nic, taken, this.backend, this.confirms, steps, (bridge, routed) => {
      this.busy.delete(nic.name);
      if (bridge !== undefined) {
        const [title, body] = routed
          ? [format(_('$0 is shared routed through $1'), nic.name, bridge), _('Guests attached to the bridge get addresses from the LAN\'s DHCP server and are reachable from the LAN; the host routes for them.')]
          : [format(_('$0 is shared through $1'), nic.name, bridge), _('Guests attached to the bridge are on the same network as the host.')];
        this.notice = { nic: nic.name, shared: true, element: alert('success', title, body, whatWasDone(steps)) };
      }
      void this.refresh();
    });
  }

  private unshare(nic: ListedInterface): void {
    this.actionError = undefined;
    this.busy.add(nic.name);
    this.notice = undefined;
    this.render();
    const steps = this.newSteps(nic.name);
    openUnshareDialog(this.service, nic, steps, (unshared) => {
      this.busy.delete(nic.name);
      if (unshared) this.notice = { nic: nic.name, shared: false, element: alert('success', format(_('$0 is no longer shared'), nic.name), nic.mode === 'routed' ? format(_('The bridge $0 is gone, and the host\'s routing for its guests.'), nic.bridge) : format(_('The bridge $0 is gone; $1 has its own configuration back.'), nic.bridge, nic.name), whatWasDone(steps)) };
      void this.refresh();
    });
  }

  /** A change awaiting confirmation that this page did not make (or lost): keep it, or undo it now. */
  private async settle(nic: ListedInterface, how: 'Confirm' | 'Rollback'): Promise<void> {
    this.busy.add(nic.name);
    this.render();
    try {
      await this.service.settle(nic.name, how);
      this.actionError = undefined;
    } catch (err) {
      this.actionError = err;
    } finally {
      this.busy.delete(nic.name);
    }
    await this.refresh();
  }

  private render(): void {
    // Keep keyboard focus on the same control across a re-render.
    const active = document.activeElement instanceof HTMLElement && this.root.contains(document.activeElement) ? document.activeElement : null;
    const focused = active?.getAttribute('aria-label') ?? null;
    const caret = active instanceof HTMLInputElement && active.type === 'search' ? [active.selectionStart, active.selectionEnd] : undefined;
    const list = this.interfaces;
    const view = listingView(list ?? [], this.filter, this.limit);
    const noticed = list?.find((nic) => nic.name === this.notice?.nic);
    if (noticed !== undefined && (noticed.bridge !== '') !== this.notice?.shared) this.notice = undefined;
    replaceChildren(this.root,
      h('section', { class: 'pf-v6-c-page__main-section si-page' },
        h('header', { class: 'si-header' },
          h('h1', { class: 'pf-v6-c-title pf-m-2xl' }, _('Shared interfaces')),
          h('p', { class: 'si-intro' }, _('Share a network interface with virtual machines: it becomes a port of a bridge that keeps the host\'s addresses, and guests attached to the bridge are on the same network as the host.'))),
        this.disconnected === undefined ? null : alert('danger', _('Disconnected from the host'), this.disconnected),
        this.permission.allowed === false ? alert('info', _('Read only'), _('You can see the interfaces but not share them: this needs administrative access.')) : null,
        this.listError === undefined ? null : errorAlert(this.listError),
        this.actionError === undefined ? null : errorAlert(this.actionError),
        this.notice?.element ?? null,
        h('div', { class: 'pf-v6-c-card si-table-card' },
          ...(list === undefined
            ? [h('div', { class: 'si-loading' }, spinner(_('Loading')), h('span', {}, _('Loading interfaces…')))]
            : [
                listingToolbar(view, {
                  filter: this.filter, showAll: this.showAll,
                  filterChanged: (filter) => this.filterChanged(filter), showAllChanged: (showAll) => this.showAllChanged(showAll),
                }),
                interfaceTable(view.rows, this.pending, this.writable, this.busy, {
                  share: (nic) => this.share(nic), unshare: (nic) => this.unshare(nic), settle: (nic, how) => { void this.settle(nic, how); },
                }),
                view.matching === 0 && this.filter.trim() !== '' ? noMatch(this.filter) : null,
                moreRows(view, () => { this.limit += ROWS_PER_PAGE; this.render(); }),
              ])),
        ...(list ?? []).filter((nic) => nic.bridge !== '').map((nic) => guestSnippetsView(nic.name, nic.bridge, this.pages))));
    if (focused === null) return;
    const again = this.root.querySelector<HTMLElement>(`[aria-label="${CSS.escape(focused)}"]`);
    again?.focus();
    // Typing in the filter box re-renders the page: the caret stays where it was.
    if (again instanceof HTMLInputElement && caret !== undefined) again.setSelectionRange(caret[0] ?? null, caret[1] ?? null);
  }
}

followShellStyle();
document.title = _('Shared interfaces');
const root = document.getElementById('app');
if (root !== null) new Page(root).start();
