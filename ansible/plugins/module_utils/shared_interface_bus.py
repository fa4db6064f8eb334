# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
# A client of the shared-interface D-Bus API for Ansible modules, run on the managed host. It
# talks to the service through systemd's busctl (--json=short), so the host needs no Python
# D-Bus binding: systemd is on every target.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

BUS_NAME = 'org.fedoraproject.SharedInterface'
OBJECT_PATH = '/org/fedoraproject/SharedInterface'
INTERFACE_NAME = 'org.fedoraproject.SharedInterface'
ERROR_PREFIX = INTERFACE_NAME + '.Error.'

# Share can take a while: a checkpoint, NetworkManager's activation, verification (a DHCP lease,
# the gateway's answer). The service bounds it with its rollback timeout; this bounds busctl.
CALL_TIMEOUT_SECONDS = 300

# busctl prints an error's message ("Call failed: ..."), never its name. With debug logging,
# sd-bus logs every message it receives (log_debug_bus_message), an error reply as
#   Got message type=error sender=... reply_cookie=N signature=s error-name=NAME error-message=...
# ("... reply_cookie=N error=NAME" in older systemd releases); the name is read from there. The
# message itself is taken from busctl's own "Call failed:" line and the lines after it, up to the
# next sd-bus debug line (a service's message may span lines: ours puts a hint on the second).
_ERROR_NAME = re.compile(r'^Got message type=error .*? (?:error-name|error)=(\S+)', re.MULTILINE)
_NOT_AUTHORIZED = ('org.freedesktop.DBus.Error.InteractiveAuthorizationRequired', 'org.freedesktop.DBus.Error.AccessDenied')
_SD_BUS_DEBUG_LINE = re.compile(r'^(Bus \S+: changing state|Sent message |Got message |sd-bus: )')


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
        msg = '%s: %s' % (self.name or 'unknown D-Bus error', self.message)
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


def parse_busctl_error(stderr):
    """The SharedInterfaceError described by a failed `busctl call`'s debug output."""
    match = _ERROR_NAME.search(stderr)
    name = match.group(1) if match else None
    lines = stderr.splitlines()
    text = None
    for i, line in enumerate(lines):
        if line.startswith('Call failed: '):
            body = [line[len('Call failed: '):]]
            for rest in lines[i + 1:]:
                if _SD_BUS_DEBUG_LINE.match(rest):
                    break
                body.append(rest)
            text = '\n'.join(body)
            break
    if text is None:
        # Not a reply from the service: busctl itself failed (no bus, bad arguments). Its last
        # line that is not sd-bus debugging says why.
        plain = [line for line in lines if line.strip() and not _SD_BUS_DEBUG_LINE.match(line)]
        text = plain[-1] if plain else 'busctl failed without a message'
    message, hint = split_hint(text)
    if name == 'org.freedesktop.DBus.Error.InvalidArgs' and "'confirm-timeout'" in message and hint is None:
        hint = 'this version of shared-interface has no confirm-or-rollback; leave confirm_timeout out'
    if name in _NOT_AUTHORIZED and hint is None:
        # The service's own suggestion (allow interactive authorization) cannot apply to a module.
        hint = ('run the task as root (become: true), or let the remote user change the network with a polkit '
                'rule for org.fedoraproject.SharedInterface.share-interface')
    if name == 'org.freedesktop.DBus.Error.ServiceUnknown' and hint is None:
        hint = 'is shared-interface installed on this host? Its bus name is %s' % BUS_NAME
    return SharedInterfaceError(name, message, hint)


def variant_value(variant):
    """busctl --json renders a variant as {"type": SIG, "data": VALUE}."""
    if isinstance(variant, dict) and 'data' in variant:
        return variant['data']
    return variant


def vardict_args(options):
    """busctl's arguments for an a{sv}: the count, then key, signature and value of each entry."""
    entries = [(key, sig, value) for key, (sig, value) in sorted(options.items()) if value is not None]
    args = [str(len(entries))]
    for key, sig, value in entries:
        if sig == 'b':
            value = 'true' if value else 'false'
        args += [key, sig, str(value)]
    return args


class SharedInterfaceClient(object):
    """The service's methods and properties, called through busctl on the managed host."""

    def __init__(self, module):
        self.module = module
        self.busctl = module.get_bin_path('busctl', required=True)

    def _busctl(self, verb, args):
        argv = [self.busctl, '--system', '--json=short', '--timeout=%d' % CALL_TIMEOUT_SECONDS,
                # A module has no one to answer a password prompt: polkit's "no" comes at once.
                '--allow-interactive-authorization=no', verb, BUS_NAME, OBJECT_PATH] + args
        env = {'SYSTEMD_LOG_LEVEL': 'debug', 'SYSTEMD_LOG_TARGET': 'console', 'SYSTEMD_COLORS': '0',
               'LC_ALL': 'C'}
        rc, stdout, stderr = self.module.run_command(argv, environ_update=env)
        if rc != 0:
            raise parse_busctl_error(stderr)
        if not stdout.strip():
            return {}  # a reply without out arguments: busctl prints nothing
        try:
            return json.loads(stdout)
        except ValueError:
            raise SharedInterfaceError(None, 'busctl answered something that is not JSON: %r' % stdout[:200])

    def call(self, member, signature=None, args=()):
        """The method's out arguments, as a list."""
        call_args = [INTERFACE_NAME, member] + ([signature] + list(args) if signature else [])
        return self._busctl('call', call_args).get('data', [])

    def get_property(self, name):
        return variant_value(self._busctl('get-property', [INTERFACE_NAME, name]))

    def list_interfaces(self):
        """ListInterfaces as a list of dicts: name, bridge and every detail the service gives."""
        out = self.call('ListInterfaces')
        result = []
        for name, bridge, details in (out[0] if out else []):
            entry = dict((key, variant_value(value)) for key, value in sorted(details.items()))
            entry['name'] = name
            entry['bridge'] = bridge
            result.append(entry)
        return result

    def share(self, interface, bridge=None, stp=None, forward_delay=None, rollback_timeout=None, confirm_timeout=None):
        """Share(interface, options) → the bridge's name."""
        options = {'bridge': ('s', bridge), 'stp': ('b', stp), 'forward-delay': ('u', forward_delay),
                   'rollback-timeout': ('u', rollback_timeout), 'confirm-timeout': ('u', confirm_timeout)}
        out = self.call('Share', 'sa{sv}', [interface] + vardict_args(options))
        return out[0] if out else bridge

    def unshare(self, interface, force=None, rollback_timeout=None, confirm_timeout=None):
        options = {'force': ('b', force), 'rollback-timeout': ('u', rollback_timeout), 'confirm-timeout': ('u', confirm_timeout)}
        self.call('Unshare', 'sa{sv}', [interface] + vardict_args(options))

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
