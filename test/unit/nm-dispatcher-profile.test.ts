// SPDX-License-Identifier: GPL-2.0-or-later
// The firewall hook's reading of the keyfile NetworkManager's dispatcher names: only a
// system-wide bridge profile of ours opens the firewall; a user's private one tagged alike does not.
import test from 'ava';
import * as t from '../../src/dbus-wire/bus-value';
import { firewallHookAction, keyfileOwnership } from '../../src/settings/nm/nm-dispatcher-profile';
import { isPrivateProfile, ourTag } from '../../src/settings/nm/nm-profile-owner';
import { getSetting } from '../../src/settings/nm/nm-settings';

/** A bridge profile as NetworkManager 1.42 writes it, with our tag and, if given, permissions. */
function keyfile(options: { permissions?: string; firewall?: string; bridge?: string } = {}): string {
  return [
    '[connection]', 'id=br-eth9 (shares eth9)', 'uuid=3e1ac1fb-9f39-4b1e-8d5c-0b6a3c7c2f11', 'type=bridge', 'autoconnect-slaves=1',
    'interface-name=br-eth9', ...(options.permissions === undefined ? [] : [`permissions=${options.permissions}`]), '',
    '[ethernet]', 'cloned-mac-address=52:54:00:12:34:59', '', '[bridge]', 'stp=false', '', '[ipv4]', 'method=auto', '',
    '[user]', `org.fedoraproject.shared-interface.bridge=${options.bridge ?? 'br-eth9'}`,
    ...(options.firewall === undefined ? [] : [`org.fedoraproject.shared-interface.firewall=${options.firewall}`]),
    'org.fedoraproject.shared-interface.nic=eth9', 'org.fedoraproject.shared-interface.original-uuid=', 'org.fedoraproject.shared-interface.role=bridge', '',
  ].join('\n');
}

test('a keyfile gives its permissions and user data in their D-Bus form', (tt) => {
  const settings = keyfileOwnership(keyfile({ permissions: 'user:nobody:;user:a\\;b:;' }));
  tt.deepEqual(getSetting(settings, 'connection', 'permissions', t.array(t.string)), ['user:nobody:', 'user:a;b:']);
  tt.true(isPrivateProfile(settings));
  tt.is(ourTag(settings), undefined, 'a private profile carries no tag we believe');
  tt.like(ourTag(keyfileOwnership(keyfile())), { role: 'bridge', nic: 'eth9', bridge: 'br-eth9', firewall: true });
  tt.false(isPrivateProfile(keyfileOwnership(keyfile({ permissions: '' }))), 'an empty list is system-wide');
  // Escapes, comments, indentation and a later key winning, as GKeyFile reads them.
  const odd = keyfileOwnership('# c\n[user]\n  k.x = a\\sb\\\\c\nk.x=d\n[connection]\npermissions=\n');
  tt.deepEqual(getSetting(odd, 'user', 'data', t.dict(t.string)), new Map([['k.x', 'd']]));
  tt.deepEqual(getSetting(keyfileOwnership('[user]\nk.y=a\\sb\\\\c\n'), 'user', 'data', t.dict(t.string)), new Map([['k.y', 'a b\\c']]));
});

test("the hook opens the firewall only for a system-wide bridge profile of ours for that bridge, that asks for it", (tt) => {
  tt.is(firewallHookAction('up', 'br-eth9', keyfile()), 'allow');
  tt.is(firewallHookAction('up', 'br-eth9', keyfile({ permissions: 'user:nobody:;' })), 'nothing', "a user's private profile tagged like ours");
  tt.is(firewallHookAction('up', 'br-eth9', keyfile({ firewall: 'no' })), 'nothing', 'shared with firewall=false');
  tt.is(firewallHookAction('up', 'br-other', keyfile()), 'nothing', 'tagged for another bridge');
  tt.is(firewallHookAction('up', 'br-eth9', '[connection]\nid=x\n'), 'nothing', 'no tag');
  tt.is(firewallHookAction('up', 'br-eth9', undefined), 'nothing', 'no keyfile');
});

test('the hook removes our rules when our profile goes down or is gone, never for a private one', (tt) => {
  tt.is(firewallHookAction('down', 'br-eth9', keyfile()), 'forget');
  tt.is(firewallHookAction('down', 'br-eth9', keyfile({ firewall: 'no' })), 'forget', 'nothing of ours to find is harmless');
  tt.is(firewallHookAction('down', 'br-eth9', undefined), 'forget', 'Unshare deleted the profile first');
  tt.is(firewallHookAction('down', 'br-eth9', keyfile({ permissions: 'user:nobody:;' })), 'nothing');
});
