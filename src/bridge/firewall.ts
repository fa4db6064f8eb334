// SPDX-License-Identifier: GPL-2.0-or-later
// The firewall as it concerns a shared bridge. With br_netfilter's `bridge-nf-call-iptables`
// (or `-ip6tables`) in force, frames crossing a bridge go through the IP forward hooks, so a
// FORWARD path that drops (Docker's policy DROP, a plain nftables forward chain of policy drop)
// silently eats a guest's DHCP and everything after it. Pure: from the rule sets a component
// read (iptables-save, nft -j), what drops the bridge's traffic, what rules would let it through,
// and which rules are ours. The component in src/settings/firewall runs the tools.
// A routed share's guests are not bridged onto the NIC but routed: their traffic is forwarded at
// layer 3 between the guests' bridge and the NIC, through FORWARD whatever br_netfilter says, and
// IPv4 only; its rules accept exactly that, both ways (`uplink` below).

/** Who owns a rule set: iptables with its nf_tables or legacy backend, or plain nftables. */
export type FirewallTool = 'iptables-nft' | 'iptables-legacy' | 'nftables';
export type IpFamily = 4 | 6;

/** An interface match: `-i br0`, `-o ! docker0`, `iifname { "br-*", "x" }`. */
export interface InterfaceMatch {
  readonly names: readonly string[];
  readonly negated: boolean;
}

export type Verdict =
  | { readonly kind: 'accept' | 'drop' | 'reject' | 'return' | 'none' }
  | { readonly kind: 'jump' | 'goto'; readonly chain: string };

export interface FirewallRule {
  readonly iif?: InterfaceMatch;
  readonly oif?: InterfaceMatch;
  /** Conditions other than interfaces (protocol, addresses, conntrack state, sets we don't read). */
  readonly conditional: boolean;
  readonly verdict: Verdict;
  readonly comment?: string;
  /** nftables' handle of the rule (iptables deletes by specification instead). */
  readonly handle?: number;
}

export interface FirewallChain {
  readonly name: string;
  /** A base chain's policy on the forward hook; undefined for a regular chain. */
  readonly forwardPolicy?: 'accept' | 'drop';
  readonly rules: readonly FirewallRule[];
}

/** One table's chains, as one tool sees them: iptables' `filter` table, or an nftables table. */
export interface FirewallTable {
  readonly tool: FirewallTool;
  /** The IP families the table's forward chains see: iptables one, nftables `inet` both. */
  readonly families: readonly IpFamily[];
  /** nftables' family and table name (`inet filter`); iptables: `filter`. */
  readonly family: string;
  readonly table: string;
  readonly chains: ReadonlyMap<string, FirewallChain>;
}

export interface FirewallFacts {
  /** net.bridge.bridge-nf-call-iptables / -ip6tables in this network namespace (false: br_netfilter not loaded). */
  readonly bridgeNfCall: Readonly<Record<IpFamily, boolean>>;
  readonly tables: readonly FirewallTable[];
}

/** Something that drops the bridge's traffic, in words, e.g. "iptables-nft FORWARD policy DROP (IPv4)". */
export interface Blocker {
  readonly family: IpFamily;
  /** The traffic it drops. */
  readonly iif: string;
  readonly oif: string;
  readonly table: FirewallTable;
  /** The base chain whose walk ended in a drop: our rule goes there (or into DOCKER-USER). */
  readonly chain: string;
  readonly what: string;
}

/** A rule of ours to add: accept what enters on `iif` and leaves on `oif`, at the top of `chain`. */
export interface FirewallInsert {
  readonly tool: FirewallTool;
  readonly family: string;
  readonly ipFamily: IpFamily | 'both';
  readonly table: string;
  readonly chain: string;
  /** The share's bridge: the rule is found again by its comment, which names it. */
  readonly bridge: string;
  /** The bridge both ways for a bridged share; the bridge and the NIC, one way each, for a routed one. */
  readonly iif: string;
  readonly oif: string;
  readonly comment: string;
}

/** One direction of forwarded traffic a share needs. */
interface ForwardPath {
  readonly iif: string;
  readonly oif: string;
}

/** Within the bridge (bridged); between the guests' bridge and `uplink`, both ways (routed). */
function sharePaths(bridge: string, uplink: string | undefined): ForwardPath[] {
  return uplink === undefined ? [{ iif: bridge, oif: bridge }] : [{ iif: bridge, oif: uplink }, { iif: uplink, oif: bridge }];
}

/** A rule of ours that exists: removed by its handle (nftables) or its specification (iptables). */
export interface FirewallDelete extends FirewallInsert {
  readonly handle?: number;
}

export const COMMENT_PREFIX = 'shared-interface bridge ';
const DOCKER_USER = 'DOCKER-USER';
const MAX_JUMP_DEPTH = 16;

/** The comment on every rule we add: names the service and the bridge, so it is found exactly. */
export function ruleComment(bridge: string): string {
  return `${COMMENT_PREFIX}${bridge}`;
}

function globMatches(pattern: string, name: string): boolean {
  // iptables' `br+` and nftables' `br-*` are prefix wildcards; anything else is exact.
  if (pattern.endsWith('+') || pattern.endsWith('*')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}

function interfaceMatches(match: InterfaceMatch | undefined, name: string): boolean {
  if (match === undefined) return true;
  const any = match.names.some((p) => globMatches(p, name));
  return match.negated ? !any : any;
}

type WalkEnd = { readonly kind: 'accept' | 'drop' | 'reject' | 'fallthrough'; readonly where: string };

/** Follows a packet that enters on `path.iif` and leaves on `path.oif` through `chain` and its jumps. */
function walk(table: FirewallTable, chain: FirewallChain, path: ForwardPath, depth: number): WalkEnd {
  for (const rule of chain.rules) {
    if (!interfaceMatches(rule.iif, path.iif) || !interfaceMatches(rule.oif, path.oif)) continue;
    // A rule with other conditions may or may not match: only unconditional verdicts decide,
    // so `ct state invalid drop` or `-p tcp -j REJECT` is not taken for a drop of everything.
    if (rule.conditional) continue;
    const v = rule.verdict;
    switch (v.kind) {
      case 'accept': return { kind: 'accept', where: chain.name };
      case 'drop': case 'reject': return { kind: v.kind, where: `a ${v.kind.toUpperCase()} rule in ${chain.name}` };
      case 'return': return { kind: 'fallthrough', where: chain.name };
      case 'none': continue;
      case 'jump': case 'goto': {
        const target = table.chains.get(v.chain);
        if (target === undefined || depth >= MAX_JUMP_DEPTH) continue;
        const end = walk(table, target, path, depth + 1);
        if (end.kind !== 'fallthrough') return end;
        if (v.kind === 'goto') return end;
        continue;
      }
    }
  }
  return { kind: 'fallthrough', where: chain.name };
}

function familyName(family: IpFamily): string {
  return family === 4 ? 'IPv4' : 'IPv6';
}

/**
 * What would drop traffic entering and leaving `bridge`, per IP family where bridged traffic goes
 * through the IP hooks at all. firewalld's own table (`inet firewalld`, removed when it stops) is
 * firewalld's business: NetworkManager puts the bridge into its profile's zone (the NIC's), and
 * the zone's intra-zone forwarding (on in every zone firewalld ships) lets guests through. A routed
 * share's bridge is put in the NIC's zone too. `uplink`: the NIC of a routed share, whose guests'
 * IPv4 traffic is forwarded between it and the bridge whether br_netfilter is on or not.
 */
export function blockers(facts: FirewallFacts, bridge: string, uplink?: string): Blocker[] {
  const found: Blocker[] = [];
  const families = (table: FirewallTable) => table.families.filter((family) => (uplink === undefined ? facts.bridgeNfCall[family] : family === 4));
  for (const table of facts.tables) {
    if (table.tool === 'nftables' && table.family === 'inet' && table.table === 'firewalld') continue;
    for (const chain of table.chains.values()) {
      if (chain.forwardPolicy === undefined) continue;
      for (const path of sharePaths(bridge, uplink)) {
        const end = walk(table, chain, path, 0);
        const drops = end.kind === 'drop' || end.kind === 'reject' || (end.kind === 'fallthrough' && chain.forwardPolicy === 'drop');
        if (!drops) continue;
        const reason = end.kind === 'fallthrough' ? `policy DROP of ${chain.name}` : end.where;
        for (const family of families(table)) {
          const owner = table.tool === 'nftables' ? `nftables ${table.family} ${table.table}` : table.tool;
          const across = uplink === undefined ? '' : `, ${path.iif} to ${path.oif}`;
          found.push({ family, ...path, table, chain: chain.name, what: `${owner}: ${reason} (${familyName(family)}${across})` });
        }
      }
    }
  }
  return found;
}

/** The note for ListInterfaces and the CLI, or undefined when nothing drops the bridge's traffic. */
export function firewallNote(facts: FirewallFacts, bridge: string): string | undefined {
  const found = blockers(facts, bridge);
  if (found.length === 0) return undefined;
  return `the firewall would drop guests' traffic across bridge ${bridge} (bridge-nf-call-iptables is on): `
    + `${[...new Set(found.map((b) => b.what))].join('; ')}; sharing adds rules accepting it within the bridge (option firewall=false leaves the firewall alone)`;
}

/**
 * The rules that let the bridge's traffic through every blocker: at the top of the chain that
 * drops it, or of Docker's DOCKER-USER when that table has one (Docker re-inserts its own jumps
 * at the top of FORWARD when it restarts, and leaves DOCKER-USER to the administrator). Rules of
 * ours already there are not added twice.
 */
export function rulesToAdd(facts: FirewallFacts, bridge: string, uplink?: string): FirewallInsert[] {
  const comment = ruleComment(bridge);
  const out: FirewallInsert[] = [];
  const seen = new Set<string>();
  for (const b of blockers(facts, bridge, uplink)) {
    const chain = b.table.tool !== 'nftables' && b.table.chains.has(DOCKER_USER) ? DOCKER_USER : b.chain;
    const ipFamily = b.table.families.length > 1 ? 'both' : b.family;
    const key = `${b.table.tool} ${b.table.family} ${b.table.table} ${chain} ${ipFamily} ${b.iif} ${b.oif}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (b.table.chains.get(chain)?.rules.some((r) => r.comment === comment && interfaceMatches(r.iif, b.iif) && interfaceMatches(r.oif, b.oif))) continue;
    out.push({ tool: b.table.tool, family: b.table.family, ipFamily, table: b.table.table, chain, bridge, iif: b.iif, oif: b.oif, comment });
  }
  return out;
}

/** Every rule of ours for `bridge`, wherever it is; rules without our exact comment are not ours. */
export function ourRules(facts: FirewallFacts, bridge: string): FirewallDelete[] {
  const comment = ruleComment(bridge);
  const out: FirewallDelete[] = [];
  for (const table of facts.tables) {
    for (const chain of table.chains.values()) {
      for (const rule of chain.rules) {
        if (rule.comment !== comment) continue;
        const ipFamily: IpFamily | 'both' = table.families.length > 1 ? 'both' : table.families[0] ?? 4;
        out.push({
          tool: table.tool, family: table.family, ipFamily, table: table.table, chain: chain.name, bridge, comment,
          iif: rule.iif?.names[0] ?? bridge, oif: rule.oif?.names[0] ?? bridge,
          ...(rule.handle === undefined ? {} : { handle: rule.handle }),
        });
      }
    }
  }
  return out;
}

/** The verbs of the component that runs the firewall tools (src/settings/firewall). */
export interface FirewallHost {
  /** Reads the sysctls and every rule set present; a firewall that isn't installed has no tables. */
  read(): Promise<FirewallFacts>;
  insert(rule: FirewallInsert): Promise<void>;
  /** Removes one rule of ours; a rule already gone (the dispatcher script was quicker) is no error. */
  remove(rule: FirewallDelete): Promise<void>;
}
