// SPDX-License-Identifier: GPL-2.0-or-later
// The ifcfg fallback as a settings backend candidate: it applies where the ifcfg directory exists.
import { existsSync } from 'node:fs';
import type { Clock } from '../../clock';
import type { Log } from '../../log';
import type { BackendCandidate } from '../backend-candidate';
import { IfcfgBackend } from './ifcfg-backend';
import type { IfcfgConfig } from './ifcfg-state';

export function ifcfgCandidate(config: IfcfgConfig, log: Log, clock: Clock): BackendCandidate {
  return {
    name: 'ifcfg',
    notApplicable: () => (existsSync(config.ifcfgDir) ? undefined : `${config.ifcfgDir} does not exist`),
    remedy: `create ${config.ifcfgDir} to use the ifcfg files`,
    start: () => IfcfgBackend.start(config, log, clock),
  };
}
