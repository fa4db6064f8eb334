// SPDX-License-Identifier: GPL-2.0-or-later
// forward-delay is described in one set of words everywhere a user meets it: the D-Bus spec (and
// so the API's man page and introspection XML), the CLI's help (and its man page), the Cockpit
// page's Share dialog and the Ansible module. The domain's FORWARD_DELAY_DOC is the one source.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FORWARD_DELAY_DOC } from '../../src/bridge/share-request';
import { shareCommand } from '../../src/cli/share-command';
import { sharedInterfaceSpec } from '../../src/service/shared-interface-spec';
import { FORWARD_DELAY_HELP } from '../../cockpit/src/api';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const flat = (text: string) => text.replace(/\s+/g, ' ').trim();

test('the spec, the CLI, the Cockpit page, the Ansible module and the introspection XML say the same of forward-delay', (t) => {
  const options = sharedInterfaceSpec.methods.Share.in.find((a) => a.name === 'options');
  t.true(options?.doc.includes(`forward-delay (u, 0 to 30, default 0): ${FORWARD_DELAY_DOC.replace(/\.$/, '')};`), 'the D-Bus spec');
  t.true(shareCommand.options['forward-delay']?.help.startsWith(FORWARD_DELAY_DOC), 'the CLI');
  t.is(FORWARD_DELAY_HELP, FORWARD_DELAY_DOC, 'the Cockpit page');
  const module = readFileSync(join(REPO_ROOT, 'ansible', 'plugins', 'modules', 'shared_interface.py'), 'utf8');
  const ansible = /^ {2}forward_delay:\n {4}description:\n {6}- ([\s\S]*?)\n {4}type:/m.exec(module)?.[1] ?? '';
  t.true(flat(ansible).startsWith(FORWARD_DELAY_DOC), `the Ansible module: ${flat(ansible)}`);
  const xml = readFileSync(join(REPO_ROOT, 'introspection', 'org.fedoraproject.SharedInterface.xml'), 'utf8').replace(/&apos;/g, "'");
  t.true(xml.includes(FORWARD_DELAY_DOC.replace(/\.$/, '')), 'the introspection XML (npm run introspection)');
});
