#!/usr/bin/env bash
# Adds the SPDX license identifier to each source file of ours that lacks one: as the first line
# (after a #! line) of TypeScript, JavaScript, shell scripts, the Makefile and the spec. Generated
# files (introspection XML, fixtures) and data are left alone, and so is the Ansible collection,
# whose modules carry the identifier in Ansible's own header layout. Idempotent: run it again
# after adding files.
set -euo pipefail
cd "$(dirname "$0")/.."
id='SPDX-License-Identifier: GPL-2.0-or-later'
git ls-files -- '*.ts' '*.mjs' '*.sh' 'bin/*' 'hooks/*.in' Makefile 'packaging/*.spec' \
  ':!:ansible/**' ':!:test/fixtures/**' ':!:*.d.ts' | while read -r f; do
  [ -f "$f" ] || continue
  grep -q 'SPDX-License-Identifier:' "$f" && continue
  case $f in
    *.ts|*.mjs) comment="// $id" ;;
    bin/*) if head -1 "$f" | grep -q node; then comment="// $id"; else comment="# $id"; fi ;;
    *) comment="# $id" ;;
  esac
  if head -1 "$f" | grep -q '^#!'; then
    { head -1 "$f"; printf '%s\n' "$comment"; tail -n +2 "$f"; } >"$f.spdx"
  else
    { printf '%s\n' "$comment"; cat "$f"; } >"$f.spdx"
  fi
  chmod --reference="$f" "$f.spdx"
  mv "$f.spdx" "$f"
done
