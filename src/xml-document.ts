// SPDX-License-Identifier: GPL-2.0-or-later
// XML from callers is hostile input. This is the one place that parses it, with saxes (a strict
// XML 1.0 parser that never reads a DTD, so entities beyond XML's five can't be defined, let alone
// expanded or fetched), and refuses up front what no document of ours needs: a DOCTYPE at all,
// processing instructions, CDATA, namespaces, text content, more than a small size, depth or
// number of elements. What comes out is a plain tree with a line and column on every element.
// Also here: a small escaping writer, so everything we generate is well-formed by construction.
import { SaxesParser } from 'saxes';

export interface XmlElement {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** Where the element's start tag begins (1-based). */
  readonly line: number;
  readonly column: number;
}

export interface XmlLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
  readonly maxElements: number;
  /** The root element's name, checked before anything inside it is read. */
  readonly root?: string;
}

/** Not well-formed, or outside what we accept; `line` and `column` are 1-based. */
export class XmlSyntaxError extends Error {
  constructor(readonly line: number, readonly column: number, readonly reason: string) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'XmlSyntaxError';
  }
}

interface OpenElement {
  name: string;
  attributes: Map<string, string>;
  children: XmlElement[];
  line: number;
  column: number;
}

export function parseXmlDocument(text: string, limits: XmlLimits): XmlElement {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) throw new XmlSyntaxError(1, 1, `the document is ${bytes} bytes long; at most ${limits.maxBytes} are accepted`);
  const parser = new SaxesParser({ position: true });
  const stack: OpenElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  const refuse = (reason: string): never => {
    throw new XmlSyntaxError(parser.line, Math.max(1, parser.column), reason);
  };
  parser.on('error', (err) => {
    // saxes prefixes its messages with "line:column: "; ours carries them as fields.
    refuse(err.message.replace(/^\d+:\d+: /, '').replace(/\.$/, ''));
  });
  parser.on('doctype', () => refuse('a DOCTYPE is not accepted (no DTDs, no entity declarations)'));
  parser.on('processinginstruction', (pi) => refuse(`the processing instruction <?${pi.target}?> is not accepted`));
  parser.on('cdata', () => refuse('CDATA sections are not accepted'));
  parser.on('text', (data) => {
    if (/[^ \t\r\n]/.test(data)) refuse(stack.length === 0 ? 'text outside the root element' : `<${stack[stack.length - 1]?.name ?? ''}> takes no text`);
  });
  parser.on('opentagstart', (tag) => {
    if (++count > limits.maxElements) refuse(`more than ${limits.maxElements} elements`);
    if (stack.length >= limits.maxDepth) refuse(`elements nested deeper than ${limits.maxDepth}`);
    if (tag.name.includes(':')) refuse(`<${tag.name}>: namespaces are not accepted`);
    // saxes reports the position just past '<', the name and the character after it.
    const column = Math.max(1, parser.column - tag.name.length - 1);
    if (count === 1 && limits.root !== undefined && tag.name !== limits.root) {
      throw new XmlSyntaxError(parser.line, column, `the root element must be <${limits.root}>, not <${tag.name}>`);
    }
    stack.push({ name: tag.name, attributes: new Map(), children: [], line: parser.line, column });
  });
  parser.on('opentag', (tag) => {
    const open = stack[stack.length - 1];
    if (open === undefined) return;
    for (const [name, value] of Object.entries(tag.attributes)) {
      if (name === 'xmlns' || name.includes(':')) refuse(`<${tag.name}> attribute '${name}': namespaces are not accepted`);
      open.attributes.set(name, typeof value === 'string' ? value : value.value);
    }
  });
  parser.on('closetag', () => {
    const open = stack.pop();
    if (open === undefined) return;
    const element: XmlElement = open;
    const parent = stack[stack.length - 1];
    if (parent === undefined) root = element;
    else parent.children.push(element);
  });
  parser.write(text).close();
  if (root === undefined) throw new XmlSyntaxError(parser.line, Math.max(1, parser.column), 'the document has no root element');
  return root;
}

/** Escapes text for an attribute value in single quotes (libvirt's own quoting) or element content. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>'"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', "'": '&apos;', '"': '&quot;' })[c] ?? c);
}

/** One element to write: attributes in order, children nested; undefined attributes are left out. */
export interface XmlNode {
  readonly name: string;
  readonly attributes?: ReadonlyArray<readonly [string, string | number | undefined]>;
  readonly children?: readonly XmlNode[];
}

/** Writes elements as libvirt formats them: two-space indentation, single quotes, empty elements closed with '/>'. */
export function formatXml(node: XmlNode, indent = ''): string {
  const attributes = (node.attributes ?? [])
    .filter((a): a is readonly [string, string | number] => a[1] !== undefined)
    .map(([name, value]) => ` ${name}='${escapeXml(String(value))}'`)
    .join('');
  const children = node.children ?? [];
  if (children.length === 0) return `${indent}<${node.name}${attributes}/>\n`;
  return `${indent}<${node.name}${attributes}>\n${children.map((c) => formatXml(c, `${indent}  `)).join('')}${indent}</${node.name}>\n`;
}
