// SPDX-License-Identifier: GPL-2.0-or-later
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { introspectionXml } from '../../src/service/introspection-xml';
import { sharedInterfaceSpec } from '../../src/service/shared-interface-spec';
import { VERSION } from '../../src/version';
import { REPO_ROOT } from '../lab/lab';

test('the committed introspection XML is what the spec generates (run `npm run introspection`)', (t) => {
  const committed = readFileSync(join(REPO_ROOT, 'introspection', 'org.fedoraproject.SharedInterface.xml'), 'utf8');
  t.is(committed, introspectionXml(sharedInterfaceSpec));
});

test('every method, argument and property carries a doc annotation', (t) => {
  const xml = introspectionXml(sharedInterfaceSpec);
  const ours = xml.slice(xml.indexOf('<interface name="org.fedoraproject.SharedInterface">'));
  const elements = ours.match(/<(method|arg|property|signal) [^>]*>/g) ?? [];
  t.true(elements.length >= 10);
  for (const element of elements) {
    const start = ours.indexOf(element) + element.length;
    t.regex(ours.slice(start, start + 300), /^\s*<annotation name="org.gtk.GDBus.DocString" value="[^"]/, element);
  }
});

test('mutating methods name their polkit action; reading ones do not', (t) => {
  t.is(sharedInterfaceSpec.methods.Share.action, 'org.fedoraproject.SharedInterface.share-interface');
  t.is(sharedInterfaceSpec.methods.Unshare.action, 'org.fedoraproject.SharedInterface.share-interface');
  t.is(sharedInterfaceSpec.methods.Confirm.action, 'org.fedoraproject.SharedInterface.share-interface');
  t.is(sharedInterfaceSpec.methods.Rollback.action, 'org.fedoraproject.SharedInterface.share-interface');
  t.false('action' in sharedInterfaceSpec.methods.ListInterfaces);
});

test('signals are declared in the spec and appear in the XML with their arguments', (t) => {
  const xml = introspectionXml(sharedInterfaceSpec);
  t.regex(xml, /<signal name="Progress">[\s\S]*?<arg type="s" name="interface">[\s\S]*?<arg type="s" name="step">[\s\S]*?<arg type="s" name="message">[\s\S]*?<\/signal>/);
  t.regex(xml, /<property name="Pending" type="a\{s\(sst\)\}" access="read">/);
});

test('the reported version is the package version', (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  t.is(VERSION, pkg.version);
});
