// SPDX-License-Identifier: GPL-2.0-or-later
// org.fedoraproject.SharedInterface(5): the D-Bus API's manual page, in scdoc(5) syntax, from the
// same interface definition as the introspection XML (the spec is the single source). scdoc turns
// it into roff at build time (Makefile).
import { HINT_PREFIX } from './error-message';
import type { AnyArgs, InterfaceDefinition } from './interface-definition';

/** Text for scdoc: its markup characters (*bold*, _underline_, backslash) taken literally. */
export function scdocText(text: string): string {
  return text.replace(/[\\*_]/g, (c) => `\\${c}`);
}

function argList(args: AnyArgs): string {
  return args.map((a) => `${a.codec.signature} _${scdocText(a.name)}_`).join(', ');
}

function argDocs(args: AnyArgs, direction: string): string[] {
  return args.flatMap((a) => ['', `\t_${scdocText(a.name)}_ (${direction}, *${scdocText(a.codec.signature)}*): ${scdocText(a.doc)}`]);
}

export function apiManPage(spec: InterfaceDefinition, busName: string, unit: string): string {
  const lines = [
    `${spec.name}(5)`,
    '',
    '# NAME',
    '',
    `${spec.name} - the D-Bus API of shared-interfaced(8)`,
    '',
    '# SYNOPSIS',
    '',
    `Bus name *${scdocText(busName)}* on the system bus, object *${scdocText(spec.path)}*, interface *${scdocText(spec.name)}*.`,
    '',
    '# DESCRIPTION',
    '',
    scdocText(spec.doc),
    '',
    'The service is started by D-Bus activation on the first call (through systemd, as ' +
      `*${scdocText(unit)}*) and exits when idle. Reading needs no authorization; methods that change ` +
      'the host are authorized by polkit(8), with the action named below.',
    '',
    '# METHODS',
  ];
  for (const [name, m] of Object.entries(spec.methods)) {
    const out = m.out.length > 0 ? ` → (${argList(m.out)})` : '';
    lines.push('', `*${scdocText(name)}*(${argList(m.in)})${out}`, '', `\t${scdocText(m.doc)}`);
    lines.push(...argDocs(m.in, 'in'), ...argDocs(m.out, 'out'));
    if (m.action !== undefined) lines.push('', `\tAuthorized by the polkit action *${scdocText(m.action)}*.`);
  }
  lines.push('', '# PROPERTIES');
  for (const [name, p] of Object.entries(spec.properties)) {
    const changes = p.emitsChangedSignal === 'const' ? 'constant while the service runs' : 'PropertiesChanged carries its new value';
    lines.push('', `*${scdocText(name)}* (*${scdocText(p.codec.signature)}*, read-only)`, '', `\t${scdocText(p.doc)} (${changes}.)`);
  }
  lines.push('', '# SIGNALS');
  for (const [name, s] of Object.entries(spec.signals)) {
    lines.push('', `*${scdocText(name)}*(${argList(s.args)})`, '', `\t${scdocText(s.doc)}`, ...argDocs(s.args, 'arg'));
  }
  lines.push('', '# ERRORS', '', `Methods fail with these D-Bus error names; the message says what to do, and may carry a hint on a line of its own that starts with "${HINT_PREFIX}".`);
  const errors: Array<[string, string]> = [
    ...Object.entries(spec.errors),
    ['org.freedesktop.DBus.Error.AccessDenied', 'polkit did not authorize the caller.'],
    ['org.freedesktop.DBus.Error.InteractiveAuthorizationRequired', 'Authorization needs a password, but the caller did not allow interaction.'],
  ];
  for (const [name, doc] of errors) lines.push('', `*${scdocText(name)}*`, '', `\t${scdocText(doc)}`);
  lines.push(
    '', '# EXAMPLES', '',
    '```',
    `busctl call ${busName} ${spec.path} ${spec.name} ListInterfaces`,
    `busctl introspect ${busName} ${spec.path}`,
    '```',
    '', '# FILES', '',
    `_/usr/share/dbus-1/interfaces/${scdocText(spec.name)}.xml_`,
    '\tThe introspection data, generated from the same definition as this page.',
    '',
    `_/usr/share/dbus-1/system.d/${scdocText(busName)}.conf_`,
    '\tThe bus policy: who may call which method.',
    '',
    `_/usr/share/polkit-1/actions/${scdocText(busName)}.policy_`,
    '\tThe polkit actions.',
    '',
    '# SEE ALSO',
    '',
    'shared-interface(1), shared-interfaced(8), busctl(1), polkit(8)',
    '',
  );
  return lines.join('\n');
}
