import { ShareError } from './share-error';

// Kernel rules (dev_valid_name): 1..15 bytes, not "." or "..", no '/', ':' or whitespace.
// We are stricter: names end up in NM profiles, ifcfg files sourced by bash, and shell commands
// people paste, so '%' and shell metacharacters are refused too.
const KERNEL_NAME_MAX_BYTES = 15;
const SAFE_NAME = /^[A-Za-z0-9_.+-]+$/;

/** Why `name` is not an acceptable interface name, or undefined when it is. */
export function interfaceNameProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return 'an interface name cannot be empty';
  if (bytes > KERNEL_NAME_MAX_BYTES) return `'${printable(name)}' is ${bytes} bytes long; interface names have at most ${KERNEL_NAME_MAX_BYTES}`;
  if (name === '.' || name === '..') return `'${name}' is not a valid interface name`;
  if (!SAFE_NAME.test(name)) return `'${printable(name)}' contains characters not allowed in an interface name (allowed: letters, digits, '_', '.', '+', '-')`;
  return undefined;
}

export function validateInterfaceName(name: string, what = 'interface'): string {
  const problem = interfaceNameProblem(name);
  if (problem !== undefined) throw new ShareError('InvalidArgs', `invalid ${what} name: ${problem}`);
  return name;
}

/** Shows control characters visibly, so an error message can't smuggle a newline into a log. */
export function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
