// SPDX-License-Identifier: GPL-2.0-or-later
// The generated parts of shared-interface(1): commands, options and exit status, from the same
// table the parser and --help use, filled into man/shared-interface.1.scd.in (scdoc(5) syntax).
import { scdocText } from '../service/api-man-page';
import type { CliCommand, CliOption } from './command';
import { synopsis } from './cli-help';
import { EXIT_CODE_DOCS } from './exit-codes';

/** `*-b*, *--bridge*=_NAME_`: options bold, placeholders underlined, as man-pages(7) has them. */
function optionTerm(name: string, option: CliOption): string {
  const value = option.type === 'string' ? `=_${scdocText(option.valueName ?? 'VALUE')}_` : '';
  const long = `*--${scdocText(name)}*${value}`;
  return option.short === undefined ? long : `*-${scdocText(option.short)}*, ${long}`;
}

function optionItems(options: Readonly<Record<string, CliOption>>): string[] {
  return Object.entries(options).flatMap(([name, option]) => ['', optionTerm(name, option), `\t${scdocText(option.help)}`]);
}

export function cliManSections(commands: readonly CliCommand[], globals: Readonly<Record<string, CliOption>>): Record<string, string> {
  const commandText = commands.flatMap((c) => [
    '', `## ${c.name}`, '', `*${scdocText(synopsis(c))}*`, '', scdocText(c.description),
    ...(Object.keys(c.options).length > 0 ? optionItems(c.options) : []),
  ]);
  const exitText = EXIT_CODE_DOCS.flatMap(([code, doc]) => ['', `*${code}*`, `\t${scdocText(doc)}`]);
  return {
    COMMANDS: commandText.join('\n').trimStart(),
    GLOBAL_OPTIONS: optionItems(globals).join('\n').trimStart(),
    EXIT_STATUS: exitText.join('\n').trimStart(),
  };
}

/** The template with each @NAME@ replaced; an unknown or unused placeholder is a build error. */
export function fillTemplate(template: string, sections: Readonly<Record<string, string>>): string {
  const used = new Set<string>();
  const filled = template.replace(/@([A-Z_]+)@/g, (_, name: string) => {
    const text = sections[name];
    if (text === undefined) throw new Error(`the man page template names an unknown section @${name}@`);
    used.add(name);
    return text;
  });
  const unused = Object.keys(sections).filter((s) => !used.has(s));
  if (unused.length > 0) throw new Error(`the man page template lacks @${unused.join('@, @')}@`);
  return filled;
}
