// SPDX-License-Identifier: GPL-2.0-or-later
import test from 'ava';
import { IfcfgError } from '../../src/settings/ifcfg/ifcfg-error';
import {
  checkInterfaceName,
  checkUnicastMac,
  isBoolean,
  isHostname,
  isInterfaceName,
  isIpv4,
  isIpv6,
  isMtu,
  netmaskToPrefix,
  parsePrefix,
} from '../../src/settings/ifcfg/ifcfg-validate';

test('interface names follow the kernel rules and stay clear of shell syntax', (t) => {
  for (const ok of ['eth0', 'enp1s0', 'br0', 'br-enp1s0', 'eth0.100', 'a', '_x', 'abcdefghijklmno', 'wlp2s0f1u1']) {
    t.true(isInterfaceName(ok), ok);
  }
  for (const bad of [
    '',
    '.',
    '..',
    'abcdefghijklmnop',
    'eth/0',
    'eth:0',
    'eth 0',
    'eth\t0',
    'eth%d',
    '-eth0',
    '.eth0',
    'eth0;id',
    'eth$(id)',
    'eth`id`',
    "eth'0",
    'eth"0',
    'eth*',
    'ethé',
    'eth0.bak',
    'eth0.rpmsave',
  ]) {
    t.false(isInterfaceName(bad), bad);
  }
  const e = t.throws(() => checkInterfaceName('bad name', 'Bridge name'), { instanceOf: IfcfgError });
  t.is(e?.code, 'InvalidValue');
  t.truthy(e?.hint);
});

test('MACs must be unicast and are upper-cased', (t) => {
  t.is(checkUnicastMac('52:54:00:ab:cd:ef', 'MAC'), '52:54:00:AB:CD:EF');
  const bad = ['52:54:00:ab:cd', '52-54-00-ab-cd-ef', '01:00:5e:00:00:01', '00:00:00:00:00:00', 'zz:54:00:ab:cd:ef', 'x\n'];
  for (const mac of bad) {
    t.throws(() => checkUnicastMac(mac, 'MAC'), { instanceOf: IfcfgError }, mac);
  }
});

test('IPv4 addresses are strict dotted quads without leading zeros', (t) => {
  for (const ok of ['0.0.0.0', '192.168.1.1', '255.255.255.255', '10.0.0.5']) t.true(isIpv4(ok), ok);
  const bad = ['256.1.1.1', '1.2.3', '1.2.3.4.5', '010.1.1.1', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.-1', '0x1.2.3.4', ''];
  for (const s of bad) t.false(isIpv4(s), s);
});

test('IPv6 addresses are plain text without zones or prefixes', (t) => {
  const good = ['::', '::1', 'fe80::1', '2001:db8::10', '2001:db8:0:1:2:3:4:5', '1:2:3:4:5:6:7::', '::ffff:192.0.2.1', 'FE80::A'];
  for (const s of good) t.true(isIpv6(s), s);
  const bad = [
    '',
    ':',
    ':::',
    '1::2::3',
    '2001:db8::1%eth0',
    '2001:db8::/64',
    '12345::1',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    'g::1',
    '1.2.3.4',
    '::ffff:1.2.3',
    ':1::2',
  ];
  for (const s of bad) t.false(isIpv6(s), s);
});

test('prefixes and netmasks', (t) => {
  t.is(parsePrefix('24', 32), 24);
  t.is(parsePrefix('0', 32), 0);
  t.is(parsePrefix('128', 128), 128);
  for (const bad of ['33', '024', '-1', '', '1.5']) t.is(parsePrefix(bad, 32), undefined, bad);
  t.is(parsePrefix('129', 128), undefined);
  t.is(netmaskToPrefix('255.255.255.0'), 24);
  t.is(netmaskToPrefix('255.255.255.255'), 32);
  t.is(netmaskToPrefix('0.0.0.0'), 0);
  t.is(netmaskToPrefix('128.0.0.0'), 1);
  t.is(netmaskToPrefix('255.255.128.0'), 17);
  t.is(netmaskToPrefix('255.0.255.0'), undefined);
  t.is(netmaskToPrefix('0.255.255.255'), undefined);
});

test('host names, booleans and MTUs', (t) => {
  for (const ok of ['vmhost', 'host.example.com', 'host.example.com.', 'a-b_c']) t.true(isHostname(ok), ok);
  for (const bad of ['', '-x', "x'; touch p; '", 'a b', 'a..b', '$(id)']) t.false(isHostname(bad), bad);
  for (const ok of ['yes', 'NO', 'True', 'off', 'y', '0']) t.true(isBoolean(ok), ok);
  for (const bad of ['yess', '', '2']) t.false(isBoolean(bad), bad);
  t.true(isMtu('1500'));
  t.true(isMtu('9000'));
  for (const bad of ['67', '65536', '01500', '1500 ']) t.false(isMtu(bad), bad);
});
