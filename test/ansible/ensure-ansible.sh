#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs Debian's ansible-core (the controller of the lab fleet, test/ansible/), ansible-lint
# (the collection and its playbook are linted as Galaxy would) and OpenSSH, when missing. Ansible
# runs only inside a lab's network namespace, against lab hosts. Fails loudly; never skips.
set -euo pipefail
here=$(dirname "$0")
bash "$here/../lab/ensure-ssh.sh"
bash "$here/../lab/apt-install.sh" ensure-ansible ansible-core=/usr/bin/ansible-playbook ansible-lint=/usr/bin/ansible-lint
