// SPDX-License-Identifier: GPL-2.0-or-later
// Introspection XML from an interface definition: what the committed file under introspection/
// holds and what the running service answers to Introspect(), byte for byte.
import type { InterfaceDefinition } from './interface-definition';

const DOC = 'org.gtk.GDBus.DocString';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function docAnnotation(indent: string, doc: string): string {
  return `${indent}<annotation name="${DOC}" value="${escapeXml(doc)}"/>\n`;
}

/** The standard interfaces every exported object also answers. */
const STANDARD_INTERFACES = `  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg type="s" name="machine_uuid" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg name="xml_data" type="s" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg name="interface_name" direction="in" type="s"/>
      <arg name="property_name" direction="in" type="s"/>
      <arg name="value" direction="out" type="v"/>
    </method>
    <method name="GetAll">
      <arg name="interface_name" direction="in" type="s"/>
      <arg name="props" direction="out" type="a{sv}"/>
    </method>
    <method name="Set">
      <arg name="interface_name" direction="in" type="s"/>
      <arg name="property_name" direction="in" type="s"/>
      <arg name="value" direction="in" type="v"/>
    </method>
    <signal name="PropertiesChanged">
      <arg type="s" name="interface_name"/>
      <arg type="a{sv}" name="changed_properties"/>
      <arg type="as" name="invalidated_properties"/>
    </signal>
  </interface>
`;

export function introspectionXml(spec: InterfaceDefinition): string {
  let xml = '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
    + ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n'
    + '<!-- Generated from src/service/shared-interface-spec.ts by `npm run introspection`; do not edit. -->\n'
    + `<node name="${spec.path}">\n`
    + STANDARD_INTERFACES
    + `  <interface name="${spec.name}">\n`
    + docAnnotation('    ', spec.doc);
  for (const [name, m] of Object.entries(spec.methods)) {
    xml += `    <method name="${name}">\n` + docAnnotation('      ', m.doc);
    if (m.action !== undefined) {
      xml += `      <annotation name="org.freedesktop.PolicyKit1.Action" value="${escapeXml(m.action)}"/>\n`;
    }
    for (const [direction, args] of [['in', m.in], ['out', m.out]] as const) {
      for (const a of args) {
        xml += `      <arg type="${escapeXml(a.codec.signature)}" name="${a.name}" direction="${direction}">\n`
          + docAnnotation('        ', a.doc)
          + '      </arg>\n';
      }
    }
    xml += '    </method>\n';
  }
  for (const [name, sig] of Object.entries(spec.signals)) {
    xml += `    <signal name="${name}">\n` + docAnnotation('      ', sig.doc);
    for (const a of sig.args) {
      xml += `      <arg type="${escapeXml(a.codec.signature)}" name="${a.name}">\n`
        + docAnnotation('        ', a.doc)
        + '      </arg>\n';
    }
    xml += '    </signal>\n';
  }
  for (const [name, p] of Object.entries(spec.properties)) {
    xml += `    <property name="${name}" type="${escapeXml(p.codec.signature)}" access="read">\n`
      + docAnnotation('      ', p.doc)
      + `      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="${p.emitsChangedSignal}"/>\n`
      + '    </property>\n';
  }
  xml += '  </interface>\n';
  xml += '  <!-- Errors the methods return:\n';
  for (const [name, doc] of Object.entries(spec.errors)) xml += `       ${name}: ${escapeXml(doc).replace(/--/g, '- -')}\n`;
  xml += '       org.freedesktop.DBus.Error.AccessDenied: polkit did not authorize the caller.\n'
    + '       org.freedesktop.DBus.Error.InteractiveAuthorizationRequired: authorization needs a password, but the caller did not allow interaction.\n'
    + '  -->\n';
  xml += '</node>\n';
  return xml;
}
