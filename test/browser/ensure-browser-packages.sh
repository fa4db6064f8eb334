#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs what the browser tests of the Cockpit page need, when missing: Debian's chromium (driven
# by playwright-core, never a browser download), Cockpit's web server and bridge, which serve
# the page inside a lab, Cockpit's shell (cockpit-system: the login, the navigation menu) and
# its Networking page (cockpit-networkmanager), which the tests open beside ours. A few hundred
# MB, so only this script (run by `npm test`) brings them.
# policy-rc.d (apt-install.sh) keeps cockpit.socket from starting on the host.
set -euo pipefail
bash "$(dirname "$0")/../lab/apt-install.sh" browser \
  chromium=/usr/bin/chromium \
  cockpit-ws=/usr/lib/cockpit/cockpit-ws \
  cockpit-bridge=/usr/bin/cockpit-bridge \
  cockpit-system=/usr/share/cockpit/shell/manifest.json \
  cockpit-networkmanager=/usr/share/cockpit/networkmanager/manifest.json
# cockpit-ws must never listen on the host: only a lab's own copy serves the page.
if ss -Hltn 'sport = :9090' 2>/dev/null | grep -q .; then
  echo "browser: something listens on the host's port 9090 (a cockpit.socket?); the tests run cockpit-ws only inside a lab" >&2
  exit 1
fi
