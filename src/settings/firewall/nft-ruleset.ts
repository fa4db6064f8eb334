// SPDX-License-Identifier: GPL-2.0-or-later
// `nft -j list ruleset` into the domain's FirewallTables, and our rules into nft's JSON commands.
// Pure. Only what decides a packet that enters and leaves a bridge is read: forward-hook filter
// chains, interface-name matches, verdicts, jumps; any other expression makes a rule conditional.
import type { FirewallChain, FirewallDelete, FirewallInsert, FirewallRule, FirewallTable, InterfaceMatch, IpFamily, Verdict } from '../../bridge/firewall';

type Json = Record<string, unknown>;

const FAMILIES: Readonly<Record<string, readonly IpFamily[]>> = { ip: [4], ip6: [6], inet: [4, 6] };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `meta iifname == "br0"` or `!= { "br-*", "x" }`; undefined when the match is something else. */
function interfaceMatch(match: Json): { key: 'iifname' | 'oifname'; match: InterfaceMatch } | undefined {
  const left = match['left'];
  const key = isObject(left) && isObject(left['meta']) ? left['meta']['key'] : undefined;
  if (key !== 'iifname' && key !== 'oifname') return undefined;
  const op = match['op'];
  if (op !== '==' && op !== '!=') return undefined;
  const right = match['right'];
  const names = typeof right === 'string' ? [right]
    : isObject(right) && Array.isArray(right['set']) && right['set'].every((n) => typeof n === 'string') ? (right['set'] as string[])
      : undefined;
  return names === undefined ? undefined : { key, match: { names, negated: op === '!=' } };
}

// Statements that neither decide nor condition a packet's fate.
const NEUTRAL = new Set(['counter', 'log', 'notrack', 'comment']);

function parseRule(rule: Json): FirewallRule {
  let iif: InterfaceMatch | undefined;
  let oif: InterfaceMatch | undefined;
  let conditional = false;
  let verdict: Verdict = { kind: 'none' };
  for (const expr of Array.isArray(rule['expr']) ? rule['expr'] : []) {
    if (!isObject(expr)) continue;
    const [kind] = Object.keys(expr);
    const body = kind === undefined ? undefined : expr[kind];
    if (kind === 'match' && isObject(body)) {
      const m = interfaceMatch(body);
      if (m?.key === 'iifname') iif = m.match;
      else if (m?.key === 'oifname') oif = m.match;
      else conditional = true;
    } else if (kind === 'accept' || kind === 'drop' || kind === 'reject' || kind === 'return') {
      verdict = { kind };
    } else if ((kind === 'jump' || kind === 'goto') && isObject(body) && typeof body['target'] === 'string') {
      verdict = { kind, chain: body['target'] };
    } else if (kind === undefined || !NEUTRAL.has(kind)) {
      conditional = true;
    }
  }
  const comment = str(rule['comment']);
  const handle = typeof rule['handle'] === 'number' ? rule['handle'] : undefined;
  return {
    conditional, verdict,
    ...(iif === undefined ? {} : { iif }), ...(oif === undefined ? {} : { oif }),
    ...(comment === undefined ? {} : { comment }), ...(handle === undefined ? {} : { handle }),
  };
}

/**
 * The IP tables of an nftables ruleset that have a forward chain, leaving out `skip` ("ip
 * filter"): the tables iptables-nft owns, which iptables-nft-save reads with their comments.
 */
export function parseNftRuleset(json: unknown, skip: ReadonlySet<string>): FirewallTable[] {
  const items = isObject(json) && Array.isArray(json['nftables']) ? json['nftables'] : [];
  const chains = new Map<string, Map<string, { forwardPolicy?: 'accept' | 'drop'; rules: FirewallRule[] }>>();
  const key = (o: Json, tableField: string) => `${str(o['family']) ?? ''} ${str(o[tableField]) ?? ''}`;
  for (const item of items) {
    if (!isObject(item)) continue;
    const chain = item['chain'];
    if (isObject(chain) && FAMILIES[str(chain['family']) ?? ''] !== undefined && !skip.has(key(chain, 'table'))) {
      const table = chains.get(key(chain, 'table')) ?? new Map();
      chains.set(key(chain, 'table'), table);
      const forward = chain['hook'] === 'forward' && chain['type'] === 'filter';
      table.set(str(chain['name']) ?? '', { rules: [], ...(forward ? { forwardPolicy: chain['policy'] === 'drop' ? 'drop' as const : 'accept' as const } : {}) });
    }
    const rule = item['rule'];
    if (isObject(rule)) chains.get(key(rule, 'table'))?.get(str(rule['chain']) ?? '')?.rules.push(parseRule(rule));
  }
  const tables: FirewallTable[] = [];
  for (const [id, byName] of chains) {
    if (![...byName.values()].some((c) => c.forwardPolicy !== undefined)) continue;
    const [family = '', table = ''] = id.split(' ');
    const named = new Map<string, FirewallChain>([...byName].map(([name, c]) => [name, { name, ...c }]));
    tables.push({ tool: 'nftables', families: FAMILIES[family] ?? [], family, table, chains: named });
  }
  return tables;
}

/** nft's JSON command inserting our rule at the top of the chain. */
export function nftInsertCommand(rule: FirewallInsert): Json {
  const meta = (key: string, name: string) => ({ match: { op: '==', left: { meta: { key } }, right: name } });
  return {
    nftables: [{
      insert: {
        rule: {
          family: rule.family, table: rule.table, chain: rule.chain, comment: rule.comment,
          expr: [meta('iifname', rule.iif), meta('oifname', rule.oif), { accept: null }],
        },
      },
    }],
  };
}

export function nftDeleteCommand(rule: FirewallDelete & { readonly handle: number }): Json {
  return { nftables: [{ delete: { rule: { family: rule.family, table: rule.table, chain: rule.chain, handle: rule.handle } } }] };
}
