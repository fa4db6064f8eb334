// SPDX-License-Identifier: GPL-2.0-or-later
// D-Bus addresses (the specification's "Server Addresses"): 'transport:key=value,…', ';' between
// alternatives, values percent-escaped. We connect to two transports: unix (path= or abstract=)
// and unixexec (path=, argv0=, argv1=, …: a program whose stdin and stdout carry the bus, as
// `ssh -xT HOST systemd-stdio-bridge` does for busctl -H and hostnamectl -H).

export type BusAddress =
  | { readonly transport: 'unix'; readonly socketPath: string }
  | { readonly transport: 'unixexec'; readonly path: string; readonly argv0: string; readonly args: readonly string[] };

/** The first alternative of `address` we can connect to; throws naming what is supported. */
export function parseBusAddress(address: string): BusAddress {
  for (const candidate of address.split(';')) {
    const [transport, paramText = ''] = candidate.split(/:(.*)/s);
    const params = new Map(paramText.split(',').filter((kv) => kv !== '').map((kv) => {
      const [key = '', value = ''] = kv.split(/=(.*)/s);
      return [key, unescapeValue(value)] as const;
    }));
    if (transport === 'unix') {
      const path = params.get('path');
      if (path !== undefined && path !== '') return { transport, socketPath: path };
      const abstract = params.get('abstract');
      if (abstract !== undefined && abstract !== '') return { transport, socketPath: `\0${abstract}` };
    } else if (transport === 'unixexec') {
      const path = params.get('path');
      if (path === undefined || path === '') continue;
      const args: string[] = [];
      for (let n = 1; params.has(`argv${n}`); n++) args.push(params.get(`argv${n}`) ?? '');
      return { transport, path, argv0: params.get('argv0') ?? path, args };
    }
  }
  throw new Error(`no usable address in '${address}' (supported: unix:path=, unix:abstract=, unixexec:path=)`);
}

/** The unixexec: address that runs `path` with `args` (argv0 = path). */
export function unixexecAddress(path: string, args: readonly string[]): string {
  return [`unixexec:path=${escapeValue(path)}`, ...args.map((a, i) => `argv${i + 1}=${escapeValue(a)}`)].join(',');
}

// The specification's optionally-escaped bytes: [-0-9A-Za-z_/.\*]; every other byte is %XX.
function escapeValue(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((b) => {
    const c = String.fromCharCode(b);
    return /[-0-9A-Za-z_/.\\*]/.test(c) ? c : `%${b.toString(16).padStart(2, '0')}`;
  }).join('');
}

function unescapeValue(value: string): string {
  return Buffer.from(value.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');
}
