# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
# The controller's side of the shared_interface module: runs it on the host and, when its change
# awaits the service's Confirm (confirm_timeout), confirms it through a NEW connection. A change
# that cut the host off from the controller is thus never confirmed, and the service rolls it back.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

MODULE = 'fedoraproject.shared_interface.shared_interface'
CONFIRM_MODULE = 'fedoraproject.shared_interface.shared_interface_confirm'


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = self._task.args
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        if result.get('failed') or not result.get('pending'):
            return result
        name = args.get('name', args.get('interface'))
        # Close the connection the change was made through (ssh: stop its ControlPersist master),
        # so that the confirmation proves the host is still reachable now.
        self._connection.reset()
        try:
            confirm = self._execute_module(module_name=CONFIRM_MODULE, module_args=dict(name=name), task_vars=task_vars)
        except AnsibleConnectionFailure as err:
            result.update(unreachable=True, confirmed=False,
                          msg='%s was changed, but the host cannot be reached again to confirm it; the service '
                              'rolls the change back by itself when confirm_timeout runs out: %s' % (name, err))
            return result
        if confirm.get('failed'):
            result.update(failed=True, confirmed=False, error_name=confirm.get('error_name'),
                          msg='%s was changed but not confirmed (%s); the service rolls it back' % (name, confirm.get('msg')))
            return result
        result.update(confirmed=True, pending=False)
        return result
