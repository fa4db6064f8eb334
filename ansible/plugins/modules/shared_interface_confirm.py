#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: shared_interface_confirm
short_description: Confirm a change of a shared interface that awaits confirmation
version_added: "0.1.0"
description:
  - Calls the C(shared-interface) service's C(Confirm) for an interface whose C(Share) or C(Unshare)
    was made with a confirm timeout, so the service keeps the change instead of rolling it back.
  - M(fedoraproject.shared_interface.shared_interface) runs this module by itself, through a new
    connection, when its C(confirm_timeout) is set; it is also usable on its own, after a
    C(reset_connection) meta task.
  - Fails with C(org.fedoraproject.SharedInterface.Error.NotPending) when no change of the interface
    awaits confirmation, e.g. because its deadline passed and it was rolled back already.
author:
  - shared-interface contributors
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Changes nothing and reports a change when the interface has one pending.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - The C(shared-interface) service with confirm-or-rollback on the managed host, and its system bus (dbus-daemon or dbus-broker)
  - Python 3 on the managed host, and no D-Bus binding or other tool
options:
  name:
    description:
      - The interface whose change awaits confirmation, for example C(eth0).
    type: str
    required: true
    aliases: [interface]
seealso:
  - module: fedoraproject.shared_interface.shared_interface
'''

EXAMPLES = r'''
- name: Share eth0; the service rolls it back unless confirmed within 60 s
  fedoraproject.shared_interface.shared_interface:
    name: eth0
    confirm_timeout: 60
'''

RETURN = r'''
error_name:
  description: The D-Bus error name of the service's answer.
  returned: failure
  type: str
  sample: org.fedoraproject.SharedInterface.Error.NotPending
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fedoraproject.shared_interface.plugins.module_utils.shared_interface_bus import (
    SharedInterfaceClient, SharedInterfaceError)

ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True, aliases=['interface']),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    client = SharedInterfaceClient(module)
    name = module.params['name']
    try:
        if module.check_mode:
            module.exit_json(changed=name in (client.get_property('Pending') or {}))
        client.confirm(name)
    except SharedInterfaceError as err:
        module.fail_json(**err.failure())
    module.exit_json(changed=True)


if __name__ == '__main__':
    main()
