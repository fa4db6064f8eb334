// SPDX-License-Identifier: GPL-2.0-or-later
// iptables-save's text (one table, `-t filter`) into the domain's FirewallTable. Pure. The format
// is iptables' own and stable: `:CHAIN POLICY [p:b]` declares chains, `-A CHAIN matches -j TARGET`
// appends rules, arguments with spaces are double-quoted with `\"` and `\\` escaped.
import type { FirewallChain, FirewallRule, FirewallTable, InterfaceMatch, IpFamily, Verdict } from '../../bridge/firewall';

/** Splits a rule line into arguments the way iptables-save quoted them. */
export function splitSaveLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    let arg = '';
    if (line[i] === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) i++;
        arg += line[i];
        i++;
      }
      i++;
    } else {
      while (i < line.length && line[i] !== ' ') arg += line[i++];
    }
    out.push(arg);
  }
  return out;
}

const TERMINAL: Readonly<Record<string, Verdict['kind']>> = { ACCEPT: 'accept', DROP: 'drop', REJECT: 'reject', RETURN: 'return' };

function parseRule(args: readonly string[], chains: ReadonlySet<string>): FirewallRule {
  let iif: InterfaceMatch | undefined;
  let oif: InterfaceMatch | undefined;
  let conditional = false;
  let verdict: Verdict = { kind: 'none' };
  let comment: string | undefined;
  let negated = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '!') {
      negated = true;
      continue;
    }
    if (a === '-i' || a === '-o') {
      const match = { names: [args[++i] ?? ''], negated };
      if (a === '-i') iif = match;
      else oif = match;
    } else if (a === '-m' && args[i + 1] === 'comment') {
      i++;
    } else if (a === '--comment') {
      comment = args[++i];
    } else if (a === '-j' || a === '-g') {
      const target = args[++i] ?? '';
      const terminal = TERMINAL[target];
      if (a === '-g' && chains.has(target)) verdict = { kind: 'goto', chain: target };
      else if (terminal !== undefined) verdict = { kind: terminal } as Verdict;
      else if (chains.has(target)) verdict = { kind: 'jump', chain: target };
      // A target's own options (--reject-with, --log-prefix) follow it: they are not conditions.
      break;
    } else if (a.startsWith('-')) {
      conditional = true;
    }
    negated = false;
  }
  return {
    conditional, verdict,
    ...(iif === undefined ? {} : { iif }), ...(oif === undefined ? {} : { oif }), ...(comment === undefined ? {} : { comment }),
  };
}

/** The `filter` table in iptables-save's output; undefined when the output has none. */
export function parseIptablesSave(text: string, tool: 'iptables-nft' | 'iptables-legacy', family: IpFamily): FirewallTable | undefined {
  const lines = text.split('\n');
  const start = lines.indexOf('*filter');
  if (start < 0) return undefined;
  const policies = new Map<string, string>();
  const rules = new Map<string, FirewallRule[]>();
  for (const line of lines.slice(start + 1)) {
    if (line === 'COMMIT' || line.startsWith('*')) break;
    const declared = /^:(\S+) (\S+)/.exec(line);
    if (declared?.[1] !== undefined && declared[2] !== undefined) {
      policies.set(declared[1], declared[2]);
      rules.set(declared[1], []);
    }
  }
  const names = new Set(policies.keys());
  for (const line of lines.slice(start + 1)) {
    if (line === 'COMMIT' || line.startsWith('*')) break;
    if (!line.startsWith('-A ')) continue;
    const [, chain = '', ...args] = splitSaveLine(line);
    rules.get(chain)?.push(parseRule(args, names));
  }
  const chains = new Map<string, FirewallChain>();
  for (const [name, policy] of policies) {
    const base = name === 'FORWARD' ? { forwardPolicy: policy === 'DROP' ? 'drop' as const : 'accept' as const } : {};
    chains.set(name, { name, rules: rules.get(name) ?? [], ...base });
  }
  return { tool, families: [family], family: family === 4 ? 'ip' : 'ip6', table: 'filter', chains };
}
