# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
# A client of the shared-interface D-Bus API for Ansible modules, run on the managed host. It
# talks to the service over the system bus with the collection's own small D-Bus client
# (dbus_wire.py), so an error reply arrives as its D-Bus name and message, and the host needs
# neither a Python D-Bus binding nor a command-line tool whose output would have to be parsed.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.fedoraproject.shared_interface.plugins.module_utils.dbus_wire import (
    Connection, DBusErrorReply, DBusProtocolError)

BUS_NAME = 'org.fedoraproject.SharedInterface'
OBJECT_PATH = '/org/fedoraproject/SharedInterface'
INTERFACE_NAME = 'org.fedoraproject.SharedInterface'
ERROR_PREFIX = INTERFACE_NAME + '.Error.'
PROPERTIES_INTERFACE = 'org.freedesktop.DBus.Properties'

# Share can take a while: a checkpoint, NetworkManager's activation, verification (a DHCP lease,
# the gateway's answer). The service bounds it with its rollback timeout; this bounds the wait.
CALL_TIMEOUT_SECONDS = 300

_NOT_AUTHORIZED = ('org.freedesktop.DBus.Error.InteractiveAuthorizationRequired', 'org.freedesktop.DBus.Error.AccessDenied')


class SharedInterfaceError(Exception):
    """What the service (or the bus) answered instead of a reply: its D-Bus error name, message and hint."""

    def __init__(self, name, message, hint=None):
        super(SharedInterfaceError, self).__init__(message)
        self.name = name
        self.message = message
        self.hint = hint

    @property
    def code(self):
        """The short code of one of our errors (NoSuchInterface), or the whole name of any other."""
        if self.name and self.name.startswith(ERROR_PREFIX):
            return self.name[len(ERROR_PREFIX):]
        return self.name

    def failure(self):
        """Keyword arguments for AnsibleModule.fail_json: the name and hint in the task's message."""
        msg = '%s: %s' % (self.name, self.message) if self.name else self.message
        if self.hint:
            msg += ' (hint: %s)' % self.hint
        failure = dict(msg=msg, error_name=self.name, error_message=self.message, hint=self.hint)
        return dict((key, value) for key, value in failure.items() if value is not None)


def split_hint(text):
    """Our service's messages carry a hint on a second line, "Hint: ...": (message, hint or None)."""
    lines = text.strip().split('\n')
    hints = [line[len('Hint: '):] for line in lines if line.startswith('Hint: ')]
    message = '\n'.join(line for line in lines if not line.startswith('Hint: ')).strip()
    return message, ('\n'.join(hints) or None)


def error_from_reply(name, text):
    """The SharedInterfaceError for an error reply: its name, its message and a hint for a module's user."""
    message, hint = split_hint(text)
    if name == 'org.freedesktop.DBus.Error.InvalidArgs' and "'confirm-timeout'" in message and hint is None:
        hint = 'this version of shared-interface has no confirm-or-rollback; leave confirm_timeout out'
    if name in _NOT_AUTHORIZED and hint is None:
        # The service's own suggestion (allow interactive authorization) cannot apply to a module.
        hint = ('run the task as root (become: true), or let the remote user change the network with a polkit '
                'rule for org.fedoraproject.SharedInterface.share-interface')
    if name in ('org.freedesktop.DBus.Error.ServiceUnknown', 'org.freedesktop.DBus.Error.NameHasNoOwner') and hint is None:
        hint = 'is shared-interface installed on this host? Its bus name is %s' % BUS_NAME
    return SharedInterfaceError(name, message, hint)


def vardict(options):
    """An a{sv} from {key: (signature, value)}, leaving out the options whose value is None."""
    return dict((key, (sig, value)) for key, (sig, value) in options.items() if value is not None)


class SharedInterfaceClient(object):
    """The service's methods and properties, called over the system bus on the managed host."""

    def __init__(self, module, connect=Connection):
        self.module = module
        self._connect = connect
        self._connection = None

    def _call(self, interface, member, signature='', args=()):
        try:
            if self._connection is None:
                self._connection = self._connect(timeout=CALL_TIMEOUT_SECONDS)
            return self._connection.call(BUS_NAME, OBJECT_PATH, interface, member, signature, args,
                                         timeout=CALL_TIMEOUT_SECONDS)
        except DBusErrorReply as err:
            raise error_from_reply(err.name, err.message)
        except DBusProtocolError as err:
            raise SharedInterfaceError(None, str(err), 'is the system bus (dbus-daemon or dbus-broker) running on this host?')
        except ValueError as err:
            # A value D-Bus cannot carry (a NUL in a name, a number out of range): the call is never sent.
            raise SharedInterfaceError('org.freedesktop.DBus.Error.InvalidArgs', '%s: %s' % (member, err))

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def call(self, member, signature='', args=()):
        """The method's out arguments, as a list."""
        return self._call(INTERFACE_NAME, member, signature, args)

    def get_property(self, name):
        return self._call(PROPERTIES_INTERFACE, 'Get', 'ss', [INTERFACE_NAME, name])[0]

    def list_interfaces(self):
        """ListInterfaces as a list of dicts: name, bridge and every detail the service gives."""
        out = self.call('ListInterfaces')
        result = []
        for name, bridge, details in (out[0] if out else []):
            entry = dict(sorted(details.items()))
            entry['name'] = name
            entry['bridge'] = bridge
            result.append(entry)
        return result

    def share(self, interface, bridge=None, stp=None, forward_delay=None, rollback_timeout=None,
              persist=None, firewall=None, confirm_timeout=None, mode=None):
        """Share(interface, options) → the bridge's name."""
        options = vardict({'bridge': ('s', bridge), 'mode': ('s', mode), 'stp': ('b', stp), 'forward-delay': ('u', forward_delay),
                           'rollback-timeout': ('u', rollback_timeout), 'persist': ('b', persist),
                           'firewall': ('b', firewall), 'confirm-timeout': ('u', confirm_timeout)})
        out = self.call('Share', 'sa{sv}', [interface, options])
        return out[0] if out else bridge

    def unshare(self, interface, force=None, rollback_timeout=None, confirm_timeout=None):
        options = vardict({'force': ('b', force), 'rollback-timeout': ('u', rollback_timeout),
                           'confirm-timeout': ('u', confirm_timeout)})
        self.call('Unshare', 'sa{sv}', [interface, options])

    def confirm(self, interface):
        """Confirm(interface): commits the change awaiting confirmation."""
        self.call('Confirm', 's', [interface])


def bridge_settings(bridge):
    """The kernel's STP state and forward delay (seconds) of a bridge, or None where it has none."""
    base = '/sys/class/net/%s/bridge/' % bridge
    try:
        with open(base + 'stp_state') as f:
            stp = int(f.read().strip()) != 0
        with open(base + 'forward_delay') as f:
            # In USER_HZ (centiseconds).
            forward_delay = int(round(int(f.read().strip()) / 100.0))
    except (IOError, OSError, ValueError):
        return None
    return dict(stp=stp, forward_delay=forward_delay)
