// SPDX-License-Identifier: GPL-2.0-or-later
// Prints the guest's acceleration, kvm or tcg, and nothing else: probeAccel's answer (a short KVM
// boot, cached in /run for this host boot). test/run-tests.sh runs it once and exports
// SI_GUEST_ACCEL, so the test workers, which run in parallel, do not each spend the probe's 8 s.
// Usage: node dist/test/guest/probe-accel.js
import { buildGuest, probeAccel } from './guest';

buildGuest()
  .then((image) => probeAccel(image))
  .then(
    (accel) => console.log(accel),
    (error: unknown) => {
      console.error(`probe-accel: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
