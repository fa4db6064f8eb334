// SPDX-License-Identifier: GPL-2.0-or-later
// What the ifcfg backend keeps, and where: the record of each shared NIC (enough to unshare it
// exactly: its original file byte for byte), and the shape of the running system that a journal
// puts back. Both are our own JSON, read back as `unknown` and checked by one codec per shape.
import { join, resolve } from 'node:path';
import { ShareError } from '../../bridge/share-error';
import { ensurePrivateDir, readIfExists, removeFile, writeFileAtomic } from '../durable-file';
import { ipConfigCodec, type IpConfig } from '../host-tools/ip-config';
import * as json from '../json-codec';
import { isInterfaceName } from './ifcfg-validate';

export interface IfcfgConfig {
  /** Where the ifcfg files are (initscripts: /etc/sysconfig/network-scripts). */
  readonly ifcfgDir: string;
  /** Ours: the journal of a change in progress and the original files of shared NICs. */
  readonly stateDir: string;
}

export const DEFAULT_IFCFG_CONFIG: IfcfgConfig = {
  ifcfgDir: '/etc/sysconfig/network-scripts',
  stateDir: '/var/lib/shared-interface',
};

/** The directories a change may write, so the ones its journal may restore. */
export function journalRoots(config: IfcfgConfig): string[] {
  return [resolve(config.ifcfgDir), resolve(config.stateDir, 'shared')];
}

/** What the state directory keeps of a NIC while it is shared: enough to unshare it exactly. */
export interface ShareRecord {
  readonly version: 1;
  readonly nic: string;
  readonly bridge: string;
  readonly mac: string;
  readonly stp: boolean;
  readonly forwardDelay: number;
  /** ifcfg-<nic> before sharing: base64 of its bytes and its mode, or null when there was none. */
  readonly nicFile: { readonly bytes: string; readonly mode: number } | null;
  /** What the NIC carried before sharing. */
  readonly config: IpConfig;
}

/** How to put the running system back if a change is undone: the shape it had before. */
export type LiveRestore = UnsharedRestore | SharedRestore;
interface UnsharedRestore { readonly shape: 'unshared'; readonly nic: string; readonly bridge: string; readonly config: IpConfig }
interface SharedRestore { readonly shape: 'shared'; readonly nic: string; readonly bridge: string; readonly mac: string; readonly stp: boolean; readonly forwardDelay: number; readonly config: IpConfig }

const interfaceName = json.refine(json.string(), isInterfaceName, 'is not an interface name');

const shareRecordCodec = json.object<ShareRecord>({
  version: json.oneOf(1),
  nic: interfaceName,
  bridge: interfaceName,
  mac: json.string(),
  stp: json.orElse(json.boolean, false),
  forwardDelay: json.orElse(json.number, 0),
  nicFile: json.nullable(json.object<{ bytes: string; mode: number }>({ bytes: json.string(), mode: json.number })),
  config: ipConfigCodec,
});

const liveRestoreCodec: json.JsonCodec<LiveRestore> = json.either(
  json.object<UnsharedRestore>({ shape: json.oneOf('unshared'), nic: interfaceName, bridge: interfaceName, config: ipConfigCodec }),
  json.object<SharedRestore>({
    shape: json.oneOf('shared'), nic: interfaceName, bridge: interfaceName, mac: json.string(),
    stp: json.orElse(json.boolean, false), forwardDelay: json.orElse(json.number, 0), config: ipConfigCodec,
  }),
);

/** A journal's live state as the backend wrote it, or undefined when it has none. */
export function decodeLiveRestore(value: unknown): LiveRestore | undefined {
  return json.optional(liveRestoreCodec).decode(value);
}

/** The records of shared NICs: <state>/shared/<nic>.json, private to root. */
export class ShareRecords {
  constructor(private readonly stateDir: string) {}

  path(nic: string): string {
    if (!isInterfaceName(nic)) throw new ShareError('InvalidArgs', `${JSON.stringify(nic)} is not a valid interface name for an ifcfg file`);
    return join(this.stateDir, 'shared', `${nic}.json`);
  }

  async write(record: ShareRecord): Promise<void> {
    await ensurePrivateDir(join(this.stateDir, 'shared'));
    await writeFileAtomic(this.path(record.nic), Buffer.from(`${JSON.stringify(record, null, 2)}\n`), 0o600);
  }

  async read(nic: string): Promise<ShareRecord | undefined> {
    const bytes = await readIfExists(this.path(nic));
    if (bytes === undefined) return undefined;
    let record: ShareRecord;
    try {
      record = json.parseJson(bytes.toString('utf8'), shareRecordCodec);
    } catch (err) {
      if (err instanceof json.JsonShapeError) throw new ShareError('Failed', `${this.path(nic)} is damaged: ${err.message}`);
      throw err;
    }
    if (record.nic !== nic) throw new ShareError('Failed', `${this.path(nic)} is damaged: it is the record of ${record.nic}`);
    return { ...record, nicFile: record.nicFile === null ? null : { ...record.nicFile, mode: record.nicFile.mode & 0o7777 } };
  }

  async remove(nic: string): Promise<void> {
    await removeFile(this.path(nic));
  }
}
