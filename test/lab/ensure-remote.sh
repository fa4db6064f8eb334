#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What the remote-use tests (test/lab/remote.test.ts) need: Debian's OpenSSH (ensure-ssh.sh, which
# keeps the host from ever running the sshd it installs), and systemd-stdio-bridge, the program
# `shared-interface -H` runs on the far side, as busctl -H does. Fails loudly; never skips.
set -euo pipefail
here=$(dirname "$0")
bash "$here/ensure-ssh.sh"
bash "$here/apt-install.sh" ensure-remote systemd=/usr/bin/systemd-stdio-bridge
