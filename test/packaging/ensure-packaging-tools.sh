#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs, when missing, the Debian packages the packaging tests run: scdoc (man pages at build
# time), man-db (`man --warnings -l`), rpm and rpmlint (the RPM), systemd-container (the unit under
# a real systemd, booted by systemd-nspawn inside a lab), zsh (its completion, run as a user would).
# Fails loudly; never skips.
set -euo pipefail
bash "$(dirname "$0")/../lab/apt-install.sh" packaging \
  scdoc=/usr/bin/scdoc \
  man-db=/usr/bin/man \
  groff-base=/usr/bin/nroff \
  bash-completion=/usr/share/bash-completion/bash_completion \
  rpm=/usr/bin/rpmbuild \
  rpmlint=/usr/bin/rpmlint \
  systemd-container=/usr/bin/systemd-nspawn \
  zsh=/usr/bin/zsh
