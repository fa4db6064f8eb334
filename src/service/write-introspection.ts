// SPDX-License-Identifier: GPL-2.0-or-later
// `npm run introspection`: regenerates the committed introspection XML from the spec.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { introspectionXml } from './introspection-xml';
import { sharedInterfaceSpec } from './shared-interface-spec';

export const INTROSPECTION_FILE = join(__dirname, '..', '..', '..', 'introspection', `${sharedInterfaceSpec.name}.xml`);

if (require.main === module) {
  writeFileSync(INTROSPECTION_FILE, introspectionXml(sharedInterfaceSpec));
  console.log(`wrote ${INTROSPECTION_FILE}`);
}
