#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: shared_interface
short_description: Share a host's network interface with its virtual machine guests
version_added: "0.1.0"
description:
  - Shares (or stops sharing) a network interface of the managed host through the
    C(shared-interface) system service (D-Bus name C(org.fedoraproject.SharedInterface));
    the interface becomes the port of a bridge that NetworkManager owns (or initscripts files
    where NetworkManager is absent); the host keeps its addresses and MAC on the bridge, and guests
    attached to the bridge (libvirt C(<interface type='bridge'>)) are on the same LAN as the host.
  - Every change is applied by the service under a checkpoint and verified (the addresses, the
    default route, the gateway's answer); a change that cannot be verified is rolled back and the
    task fails with C(RolledBack).
  - Idempotent. A NIC already shared through the wanted bridge is left alone. A NIC shared through
    a different bridge, or one whose STP or forward delay differ from the ones asked for, is
    unshared and shared again.
  - Talks to the service over the system bus with the collection's own small D-Bus client; no
    Python D-Bus binding or other tool is needed on the managed host. Errors of the service fail the
    task with their D-Bus error name and the service's hint.
author:
  - shared-interface contributors
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would change from the service's C(ListInterfaces) and changes nothing.
  diff_mode:
    support: full
    details: The interface's bridge, the bridge's port and where the host's addresses are, before and after.
  platform:
    platforms: posix
requirements:
  - The C(shared-interface) service on the managed host, and its system bus (dbus-daemon or dbus-broker)
  - Python 3 on the managed host, and no D-Bus binding or other tool
  - Root, or a polkit rule that lets the remote user change the network without a password
    (C(org.fedoraproject.SharedInterface.share-interface))
options:
  name:
    description:
      - The network interface to share, for example C(eth0).
    type: str
    required: true
    aliases: [interface]
  state:
    description:
      - C(shared) makes the interface the port of a bridge that carries the host's IP configuration
        (with C(mode=routed), gives the guests a bridge of their own and leaves the interface as it is).
      - C(unshared) removes the bridge and brings back the interface's own configuration (for a routed
        share, removes the guests' bridge and the host's routing for them). An
        interface that does not exist, and that the service does not list as shared, is already
        unshared (C(ok)).
    type: str
    choices: [shared, unshared]
    default: shared
  bridge:
    description:
      - The bridge's name. Without it the service chooses C(br-<name>) (or C(br<n>) where that is
        longer than 15 bytes), and an interface shared through any bridge counts as shared.
    type: str
  mode:
    description:
      - How the guests reach the LAN. C(bridge) makes the interface the bridge's port. C(routed)
        leaves the interface and its profile as they are and gives the guests a bridge of their own
        without it; the host relays their DHCP to the LAN's server, answers ARP for them and routes
        to each, so every frame on the interface keeps the host's MAC (Wi-Fi in station mode, a
        switch port that accepts one MAC). C(auto) shares routed where bridging cannot work (a
        Wi-Fi station) and bridged elsewhere.
      - Without it the service's default (C(bridge)) applies. An interface already shared in the
        other mode is unshared and shared again (C(bridge) or C(routed) only; C(auto) accepts either).
    type: str
    choices: [bridge, routed, auto]
  stp:
    description:
      - Spanning tree on the bridge. Without it the service's default (off) applies when sharing,
        and the setting of an already shared interface is not compared.
    type: bool
  forward_delay:
    description:
      - With STP on, the seconds a new port listens and then learns before it forwards (2 to 30; 0,
        the default, means the usual 15). With STP off the bridge forwards at once and the delay is
        not used. Without this option an already shared interface's delay is not compared.
    type: int
  rollback_timeout:
    description:
      - Seconds after which the service's checkpoint rolls an unverified change back by itself
        (1 to 3600; service default 60).
    type: int
  persist:
    description:
      - C(false) keeps the bridge's profiles in memory only (NetworkManager's in-memory profiles), so
        that a reboot brings back the unshared interface; as the CLI's C(--no-persist).
      - Without it the service's default (C(true)) applies. Only used when sharing; an interface
        already shared is not compared for it.
    type: bool
  firewall:
    description:
      - Whether the service adds firewall rules accepting traffic within the bridge where iptables or
        nftables would drop it (C(bridge-nf-call-iptables) on), removed again by unsharing.
        C(false) leaves the firewall alone, as the CLI's C(--no-firewall).
      - Without it the service's default (C(true)) applies. Only used when sharing; an interface
        already shared is not compared for it.
    type: bool
  force:
    description:
      - Unshare (or reshare through another bridge) even while guests are attached to the bridge;
        they lose the LAN. Without it the service refuses with C(Busy) and names them.
    type: bool
    default: false
  confirm_timeout:
    description:
      - Seconds (1 to 3600; 0 means no confirmation) the service keeps the change under its
        checkpoint waiting for C(Confirm), after which it rolls the change back by itself (the
        service's confirm-or-rollback).
      - The task then confirms through a new SSH connection (the collection's action plugin resets the
        connection and runs M(fedoraproject.shared_interface.shared_interface_confirm)), so a change that
        cut the controller off from the host is never confirmed and undoes itself.
      - Needs a service with confirm-or-rollback (its C(Confirm) method); an older one refuses the
        option with C(org.freedesktop.DBus.Error.InvalidArgs).
    type: int
notes:
  - Re-sharing through another bridge, or with other STP settings, interrupts the host's traffic for
    as long as an unshare and a share take.
  - IPv6 stable-privacy addresses depend on the interface's name; the service's notes about them
    are returned as warnings.
seealso:
  - module: fedoraproject.shared_interface.shared_interface_info
'''

EXAMPLES = r'''
- name: Share the uplink named in the inventory on every hypervisor
  fedoraproject.shared_interface.shared_interface:
    name: "{{ uplink }}"

- name: Share eth0 through a bridge named br-lan, with spanning tree
  fedoraproject.shared_interface.shared_interface:
    name: eth0
    bridge: br-lan
    stp: true
    forward_delay: 4

- name: Share the laptop's Wi-Fi with its guests, routed (a Wi-Fi station cannot be a bridge port)
  fedoraproject.shared_interface.shared_interface:
    name: wlp2s0
    mode: routed

- name: Share eth0 until the next reboot, leaving the firewall alone
  fedoraproject.shared_interface.shared_interface:
    name: eth0
    persist: false
    firewall: false

- name: Stop sharing eth0, even with guests still attached
  fedoraproject.shared_interface.shared_interface:
    name: eth0
    state: unshared
    force: true
'''

RETURN = r'''
actions:
  description: The service's methods the task called (in check mode, would call), in order.
  returned: success
  type: list
  elements: str
  sample: [unshare, share]
pending:
  description: The change awaits C(Confirm) (with C(confirm_timeout), before the action plugin confirms it).
  returned: success
  type: bool
confirmed:
  description: The change was confirmed through a new connection (with C(confirm_timeout)).
  returned: success, when a change was made with C(confirm_timeout)
  type: bool
reasons:
  description: Why the interface was not in the wanted state.
  returned: success
  type: list
  elements: str
  sample: ["eth0 is shared through br-eth0, not br-lan"]
bridge:
  description: The bridge the interface is shared through after the task; empty when it is not shared.
  returned: success
  type: str
  sample: br-eth0
interface:
  description: The interface as the service lists it after the task (see M(fedoraproject.shared_interface.shared_interface_info)).
  returned: success, when the service lists it
  type: dict
  sample:
    name: eth0
    bridge: br-eth0
    type: ethernet
    mac: "52:54:00:12:34:56"
    carrier: true
    shareable: false
    reason: already shared through bridge br-eth0
    addresses: []
    notes: []
error_name:
  description: The D-Bus error name of the service's answer, e.g. C(org.fedoraproject.SharedInterface.Error.NoSuchInterface).
  returned: failure
  type: str
  sample: org.fedoraproject.SharedInterface.Error.NoSuchInterface
error_message:
  description: The service's message, without its hint.
  returned: failure
  type: str
  sample: there is no network interface named eth9
hint:
  description: What the service suggests doing about the error, where it has a suggestion.
  returned: failure, when the service gives one
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fedoraproject.shared_interface.plugins.module_utils.shared_interface_bus import (
    ERROR_PREFIX, SharedInterfaceClient, SharedInterfaceError, bridge_settings)

STP_DEFAULT_FORWARD_DELAY = 15
# The service's ranges for its u (uint32) options (src/bridge/request-options.ts; a test compares them).
OPTION_RANGES = dict(forward_delay=(0, 30), rollback_timeout=(1, 3600), confirm_timeout=(0, 3600))

ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True, aliases=['interface']),
    state=dict(type='str', default='shared', choices=['shared', 'unshared']),
    bridge=dict(type='str'),
    mode=dict(type='str', choices=['bridge', 'routed', 'auto']),
    stp=dict(type='bool'),
    forward_delay=dict(type='int'),
    rollback_timeout=dict(type='int'),
    persist=dict(type='bool'),
    firewall=dict(type='bool'),
    force=dict(type='bool', default=False),
    confirm_timeout=dict(type='int'),
)


def find(listing, name):
    for entry in listing:
        if entry['name'] == name:
            return entry
    return None


def default_bridge_name(nic, listing):
    """The service's choice when no bridge is asked for: br-NIC when it fits 15 bytes, else br<n>."""
    taken = set(entry['name'] for entry in listing)
    preferred = 'br-' + nic
    if len(preferred.encode('utf-8')) <= 15 and preferred not in taken:
        return preferred
    n = 0
    while 'br%d' % n in taken:
        n += 1
    return 'br%d' % n


def describe(listing, nic):
    """What --diff shows: the NIC's bridge, the bridge's port, and the device carrying the addresses."""
    entry = find(listing, nic)
    if entry is None:
        return {'interface': nic, 'exists': False}
    bridge = entry.get('bridge') or ''
    holder = find(listing, bridge) if bridge else entry
    return {
        'interface': nic,
        'bridge': bridge,
        'port': nic if bridge else '',
        'addresses': {bridge or nic: list((holder or {}).get('addresses', []))},
    }


def predicted_failure(entry, nic, state):
    """In check mode, the error the service would answer, judged from its listing (or None)."""
    if entry is None:
        return SharedInterfaceError(ERROR_PREFIX + 'NoSuchInterface', 'there is no network interface named %s' % nic)
    if state == 'shared' and not entry.get('bridge') and not entry.get('shareable', True):
        return SharedInterfaceError(ERROR_PREFIX + 'NotShareable', '%s cannot be shared: %s' % (nic, entry.get('reason', '')))
    return None


def settings_differ(bridge, stp, forward_delay):
    """Which of the asked-for STP settings the bridge's kernel state does not have."""
    if stp is None and forward_delay is None:
        return []
    current = bridge_settings(bridge)
    if current is None:
        return []
    differ = []
    if stp is not None and stp != current['stp']:
        differ.append('stp')
    # Without STP the bridge forwards at once whatever its delay, and the service leaves it alone.
    with_stp = current['stp'] if stp is None else stp
    if forward_delay is not None and with_stp:
        wanted = STP_DEFAULT_FORWARD_DELAY if forward_delay == 0 else forward_delay
        if wanted != current['forward_delay']:
            differ.append('forward_delay')
    return differ


def plan(module, listing, shared=None):
    """(actions, reasons): the calls that bring the NIC to the wanted state, in order, and why.
    `shared` is the service's Shared property (NIC → bridge), needed only for a NIC it does not list."""
    p = module.params
    nic = p['name']
    entry = find(listing, nic)
    current = (entry or {}).get('bridge') or ''
    if p['state'] == 'unshared':
        if entry is None:
            # No such interface: shared only if the service still holds a bridge for it (a NIC
            # unplugged while shared); otherwise it is as unshared as it gets.
            held = (shared or {}).get(nic)
            return (['unshare'], ['%s is gone but still shared through %s' % (nic, held)]) if held else ([], [])
        if not current:
            return [], []
        return ['unshare'], ['%s is shared through %s' % (nic, current)]
    if not current:
        return ['share'], ['%s is not shared' % nic]
    reasons = []
    if p['bridge'] and p['bridge'] != current:
        reasons.append('%s is shared through %s, not %s' % (nic, current, p['bridge']))
    shared_mode = (entry or {}).get('mode') or 'bridge'
    if p['mode'] in ('bridge', 'routed') and p['mode'] != shared_mode:
        reasons.append('%s is shared %s, not %s' % (nic, 'routed' if shared_mode == 'routed' else 'bridged', 'routed' if p['mode'] == 'routed' else 'bridged'))
    reasons += ['the bridge %s has another %s' % (current, key) for key in settings_differ(current, p['stp'], p['forward_delay'])]
    return (['unshare', 'share'], reasons) if reasons else ([], [])


def expected_after(module, listing, actions):
    """The --diff 'after' of a check-mode run: what the service would make of the listing."""
    nic = module.params['name']
    before = describe(listing, nic)
    if not actions or 'exists' in before:
        return before
    addresses = [a for held in before['addresses'].values() for a in held]
    if actions[-1] == 'unshare':
        return {'interface': nic, 'bridge': '', 'port': '', 'addresses': {nic: addresses}}
    unlisted = [e for e in listing if e['name'] != before['bridge']]
    bridge = module.params['bridge'] or default_bridge_name(nic, unlisted)
    return {'interface': nic, 'bridge': bridge, 'port': nic, 'addresses': {bridge: addresses}}


def confirm_timeout(params, action, actions):
    """The confirm-timeout of one call: a reshare's unshare is confirmed by the share that follows it."""
    if action == 'unshare' and actions[-1] == 'share':
        return None
    return params['confirm_timeout']


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    for key, (low, high) in sorted(OPTION_RANGES.items()):
        if p[key] is not None and not low <= p[key] <= high:
            module.fail_json(msg='%s must be between %d and %d, not %d' % (key, low, high, p[key]))

    client = SharedInterfaceClient(module)
    nic = p['name']
    try:
        listing = client.list_interfaces()
        absent_nic = find(listing, nic) is None and p['state'] == 'unshared'
        actions, reasons = plan(module, listing, client.get_property('Shared') if absent_nic else None)
        before = describe(listing, nic)
        result = dict(changed=bool(actions), actions=actions, reasons=reasons, pending=False)
        if module.check_mode or not actions:
            failure = predicted_failure(find(listing, nic), nic, p['state']) if actions and not absent_nic else None
            if failure is not None:
                module.fail_json(**failure.failure())
            after = expected_after(module, listing, actions)
            entry = find(listing, nic)
        else:
            for action in actions:
                if action == 'unshare':
                    client.unshare(nic, force=p['force'] or None, rollback_timeout=p['rollback_timeout'],
                                   confirm_timeout=confirm_timeout(p, action, actions))
                else:
                    client.share(nic, bridge=p['bridge'], stp=p['stp'], forward_delay=p['forward_delay'],
                                 rollback_timeout=p['rollback_timeout'], persist=p['persist'], firewall=p['firewall'],
                                 confirm_timeout=p['confirm_timeout'], mode=p['mode'])
            result['pending'] = bool(p['confirm_timeout'])
            if actions == ['share']:
                # What the service said sharing would change that a user may not expect.
                for note in (find(listing, nic) or {}).get('notes', []):
                    module.warn('%s: %s' % (nic, note))
            listing_after = client.list_interfaces()
            after = describe(listing_after, nic)
            entry = find(listing_after, nic)
    except SharedInterfaceError as err:
        module.fail_json(**err.failure())

    result['bridge'] = after.get('bridge', '')
    if entry is not None:
        result['interface'] = entry
    if module._diff:
        result['diff'] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
