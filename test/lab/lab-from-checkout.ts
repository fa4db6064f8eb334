// SPDX-License-Identifier: GPL-2.0-or-later
// Run from a copy of the project (node CHECKOUT/dist/test/lab/lab-from-checkout.js): one lab,
// `make install` of that checkout into the lab's overlay, one call through the bus-activated
// daemon. checkout-anywhere.test.ts runs it from a clone under /tmp, which the lab's own /tmp
// would hide unless lab-init.sh keeps the checkout visible. Prints one JSON line.
import { BUS_NAME } from '../../src/service/shared-interface-spec';
import { Lab, REPO_ROOT } from './lab';
import { callAs, installIntoLab, INSTALLED, NOBODY } from './lab-install';

async function main(): Promise<void> {
  const lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false });
  try {
    await installIntoLab(lab);
    const list = await callAs(lab, NOBODY, 'ListInterfaces');
    const installedPolicy = await lab.sh(`cat ${INSTALLED.policy}`);
    console.log(JSON.stringify({
      repo: REPO_ROOT,
      errorName: list.errorName ?? '',
      errorMessage: list.errorMessage,
      reply: list.reply?.data ?? [],
      policyInstalled: installedPolicy.includes(BUS_NAME),
    }));
  } finally {
    await lab.stop();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
