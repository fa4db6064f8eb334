#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: shared_interface_info
short_description: List a host's network interfaces and which are shared with guests
version_added: "0.1.0"
description:
  - Returns the C(shared-interface) service's C(ListInterfaces) as structured data, every network
    interface a user could think of sharing, the bridge it is shared through, and whether it can be
    shared and why not; plus the service's C(Shared), C(Backend) and C(Version) properties.
  - Reads only; talks to the service over the system bus with the collection's own small D-Bus client.
author:
  - shared-interface contributors
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only; the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - The C(shared-interface) service on the managed host, and its system bus (dbus-daemon or dbus-broker)
  - Python 3 on the managed host, and no D-Bus binding or other tool
options: {}
seealso:
  - module: fedoraproject.shared_interface.shared_interface
'''

EXAMPLES = r'''
- name: List the interfaces of every hypervisor
  fedoraproject.shared_interface.shared_interface_info:
  register: nics

- name: Show the shareable ones
  ansible.builtin.debug:
    msg: "{{ nics.interfaces | selectattr('shareable') | map(attribute='name') | list }}"
'''

RETURN = r'''
interfaces:
  description: One entry per interface, as C(ListInterfaces) gives it.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The interface's name.
      type: str
      sample: eth0
    bridge:
      description: The bridge it is shared through; empty when it is not shared.
      type: str
      sample: br-eth0
    type:
      description: ethernet, bond, team, vlan, wifi, bridge, loopback, tun or other.
      type: str
      sample: ethernet
    mac:
      description: Its MAC address.
      type: str
      sample: "52:54:00:12:34:56"
    carrier:
      description: Whether it has a carrier.
      type: bool
    shareable:
      description: Whether it can be shared now.
      type: bool
    reason:
      description: Why it cannot be shared; empty when it can.
      type: str
    addresses:
      description: Its IP addresses, in CIDR notation.
      type: list
      elements: str
      sample: ["192.0.2.10/24", "2001:db8::10/64"]
    notes:
      description: What sharing it would change that a user may not expect.
      type: list
      elements: str
shared:
  description: Every interface shared through the service, mapped to its bridge.
  returned: success
  type: dict
  sample: {eth0: br-eth0}
backend:
  description: The service's settings backend, C(NetworkManager) or C(ifcfg).
  returned: success
  type: str
  sample: NetworkManager
version:
  description: The service's version.
  returned: success
  type: str
  sample: 0.1.0
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fedoraproject.shared_interface.plugins.module_utils.shared_interface_bus import (
    SharedInterfaceClient, SharedInterfaceError)

ARGUMENT_SPEC = dict()


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    client = SharedInterfaceClient(module)
    try:
        result = dict(
            changed=False,
            interfaces=client.list_interfaces(),
            shared=client.get_property('Shared'),
            backend=client.get_property('Backend'),
            version=client.get_property('Version'),
        )
    except SharedInterfaceError as err:
        module.fail_json(**err.failure())
    module.exit_json(**result)


if __name__ == '__main__':
    main()
