// SPDX-License-Identifier: GPL-2.0-or-later
// The firewall component's I/O: reads br_netfilter's sysctls and the rule sets with the tools'
// own commands (iptables-nft-save, iptables-legacy-save, nft -j), and adds or removes our rules
// with them, always as argument vectors (never a shell). A tool that isn't installed means that
// firewall isn't there. What to add or remove is decided in src/bridge/firewall.ts.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { FirewallDelete, FirewallFacts, FirewallHost, FirewallInsert, FirewallTable, IpFamily } from '../../bridge/firewall';
import { parseIptablesSave } from './iptables-save';
import { nftDeleteCommand, nftInsertCommand, parseNftRuleset } from './nft-ruleset';

const run = promisify(execFile);
const TIMEOUT_MS = 10_000;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

async function output(argv: readonly [string, ...string[]]): Promise<string | undefined> {
  try {
    return (await run(argv[0], argv.slice(1), { timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw new Error(`${argv.join(' ')} failed: ${(err as { stderr?: string }).stderr?.trim() || String(err)}`);
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

function iptablesCommand(tool: 'iptables-nft' | 'iptables-legacy', family: IpFamily): string {
  const base = family === 4 ? 'iptables' : 'ip6tables';
  return tool === 'iptables-nft' ? `${base}-nft` : `${base}-legacy`;
}

/** `-I`/`-D CHAIN` with our rule's exact specification: the one way we add it and find it again. */
function iptablesArgs(op: '-I' | '-D', rule: FirewallInsert): string[] {
  return ['-w', '10', op, rule.chain, '-i', rule.iif, '-o', rule.oif, '-m', 'comment', '--comment', rule.comment, '-j', 'ACCEPT'];
}

/** One nft command, in nft's JSON form as a single argument: no nft syntax to quote. */
async function nft(command: unknown): Promise<void> {
  await output(['nft', '-j', JSON.stringify(command)]);
}

export class FirewallTools implements FirewallHost {
  async read(): Promise<FirewallFacts> {
    const [call4, call6, legacy4, legacy6] = await Promise.all([
      readText('/proc/sys/net/bridge/bridge-nf-call-iptables'),
      readText('/proc/sys/net/bridge/bridge-nf-call-ip6tables'),
      // The legacy tables exist only once loaded: reading the list loads nothing.
      readText('/proc/net/ip_tables_names'),
      readText('/proc/net/ip6_tables_names'),
    ]);
    const hasFilter = (names: string | undefined) => (names ?? '').split('\n').includes('filter');
    // The rule sets are read side by side: a Share waits for them (while its checkpoint is taken).
    const [ruleset, ...saves] = await Promise.all([
      output(['nft', '-j', '-a', 'list', 'ruleset']),
      output(['iptables-nft-save', '-t', 'filter']).then((text) => parseIptablesSave(text ?? '', 'iptables-nft', 4)),
      output(['ip6tables-nft-save', '-t', 'filter']).then((text) => parseIptablesSave(text ?? '', 'iptables-nft', 6)),
      hasFilter(legacy4) ? output(['iptables-legacy-save', '-t', 'filter']).then((text) => parseIptablesSave(text ?? '', 'iptables-legacy', 4)) : undefined,
      hasFilter(legacy6) ? output(['ip6tables-legacy-save', '-t', 'filter']).then((text) => parseIptablesSave(text ?? '', 'iptables-legacy', 6)) : undefined,
    ]);
    const iptables = saves.filter((s): s is FirewallTable => s !== undefined);
    // iptables-nft's own tables are read above, with their comments (nft shows those as opaque xt matches).
    const skip = new Set(iptables.filter((s) => s.tool === 'iptables-nft').map((s) => `${s.family} ${s.table}`));
    const nftables = ruleset === undefined ? [] : parseNftRuleset(JSON.parse(ruleset) as unknown, skip);
    return {
      bridgeNfCall: { 4: call4?.trim() === '1', 6: call6?.trim() === '1' },
      tables: [...iptables, ...nftables],
    };
  }

  async insert(rule: FirewallInsert): Promise<void> {
    if (rule.tool === 'nftables') return nft(nftInsertCommand(rule));
    if (rule.ipFamily === 'both') throw new Error(`iptables rules are per IP family (${rule.chain})`);
    await output([iptablesCommand(rule.tool, rule.ipFamily), ...iptablesArgs('-I', rule)]);
  }

  async remove(rule: FirewallDelete): Promise<void> {
    if (rule.tool === 'nftables') {
      if (rule.handle === undefined) throw new Error(`an nftables rule without a handle in ${rule.family} ${rule.table} ${rule.chain}`);
      try {
        await nft(nftDeleteCommand({ ...rule, handle: rule.handle }));
      } catch (err) {
        if (!/No such file or directory|does not exist/i.test(String(err))) throw err;
      }
      return;
    }
    if (rule.ipFamily === 'both') throw new Error(`iptables rules are per IP family (${rule.chain})`);
    try {
      await output([iptablesCommand(rule.tool, rule.ipFamily), ...iptablesArgs('-D', rule)]);
    } catch (err) {
      // Someone (the dispatcher script, at the bridge's down) removed it first.
      if (!/does a matching rule exist|Bad rule|No chain/i.test(String(err))) throw err;
    }
  }
}
