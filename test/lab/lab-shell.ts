// SPDX-License-Identifier: GPL-2.0-or-later
// `test/lab/lab-shell.sh [COMMAND...]`: a sealed lab opened by hand, through the same Lab.start the
// tests use (our bus policy and polkit actions in it, NetworkManager and the LAN); runs COMMAND in
// it, or an interactive shell, and tears the lab down when that exits.
import { Lab } from './lab';

async function main(): Promise<number> {
  const lab = await Lab.start();
  try {
    process.stderr.write(`lab ready: dir ${lab.dir}, pid ${lab.pid}\n`);
    const argv = process.argv.slice(2);
    const term = process.env['TERM'];
    return await lab.interactive(argv.length > 0 ? argv : ['bash'], term === undefined ? {} : { TERM: term });
  } finally {
    await lab.stop();
  }
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
