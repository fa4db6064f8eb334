# SPDX-License-Identifier: GPL-2.0-or-later
# Builds and installs shared-interface the way a packager's spec file calls it:
#   make && make install DESTDIR=%{buildroot} PREFIX=%{_prefix}
# PREFIX=/usr (the default) is the one a system install wants: dbus-daemon reads bus policies
# only from /usr/share/dbus-1/system.d (and /etc), and polkit reads actions only from
# /usr/share/polkit-1/actions. Other prefixes are for staging.
PREFIX ?= /usr
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
# The application itself: compiled JavaScript and its production dependencies.
APPDIR ?= $(DATADIR)/shared-interface
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DBUSDIR ?= $(DATADIR)/dbus-1
POLKITACTIONDIR ?= $(DATADIR)/polkit-1/actions
# The Cockpit page: cockpit-bridge finds packages in $(DATADIR)/cockpit/<name>/.
COCKPITDIR ?= $(DATADIR)/cockpit/shared-interface
MANDIR ?= $(DATADIR)/man
BASHCOMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
# zsh's compinit finds _shared-interface in its fpath, which has this directory on Debian and Fedora.
ZSHCOMPLETIONDIR ?= $(DATADIR)/zsh/site-functions
# NetworkManager runs the scripts here when a device goes up or down (ours: one bridge's firewall rules).
NMDISPATCHERDIR ?= $(PREFIX)/lib/NetworkManager/dispatcher.d
# The Node.js the installed commands run with (Fedora's nodejs package installs /usr/bin/node).
NODE ?= /usr/bin/node
# The daemon's V8 flags come from bin/shared-interfaced's #! line, their one home (why: there).
DAEMON_NODE_FLAGS := $(shell sed -n '1s|^\#!/usr/bin/env -S node *||p' bin/shared-interfaced)
# Seconds without calls after which the bus-activated daemon exits.
IDLE_TIMEOUT ?= 120
TSC ?= node_modules/.bin/tsc
# scdoc(1) turns the man pages' scdoc(5) sources into roff (Debian and Fedora package it).
SCDOC ?= scdoc
DESTDIR ?=

BUS_NAME = org.fedoraproject.SharedInterface
UNIT = shared-interface.service
SOURCES := $(shell find src -name '*.ts') tsconfig.json
PAGE_SOURCES := $(shell find cockpit -name '*.ts' -o -name '*.css' -o -name '*.json' -o -name '*.html' -o -name '*.mjs')
PAGE_FILES = index.html index.js index.css manifest.json
# Each program in bin/ is installed as one file: its code and production dependencies bundled by
# esbuild (against the production node_modules: 6.3 MB in 299 files, a start 50-75 ms slower; the
# README's "Packaging" section has the numbers), from the TypeScript sources tsc has checked
# (packaging/bundle-program.mjs says why). Run by the wrappers, so no #! line.
PROGRAMS := $(notdir $(wildcard bin/*))
BUNDLES = $(addprefix dist/bundle/,$(PROGRAMS))

SUBSTITUTE = sed -e 's|@libexecdir@|$(LIBEXECDIR)|g' -e 's|@idle_timeout@|$(IDLE_TIMEOUT)|g'

.PHONY: all install uninstall dist
# `make dist`: the two sources of packaging/shared-interface.spec, into TARBALLDIR: the project's
# files (those git tracks or would, as they are in the work tree) and the node_modules the build
# runs (installed by `npm ci` from the lockfile), unpacked into the first (the spec's %setup -a 1).
VERSION := $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' package.json)
DIST_NAME = shared-interface-$(VERSION)
TARBALLDIR ?= .
# Reproducible archives: names sorted, one owner, one mtime; symlink targets left as they are.
TAR_FLAGS = --sort=name --owner=0 --group=0 --numeric-owner --mtime='2000-01-01 00:00Z'
# Generated from the command table and the D-Bus spec: man pages (via scdoc) and the completion.
GENERATED = dist/generated
MANPAGES = $(GENERATED)/shared-interface.1 $(GENERATED)/shared-interfaced.8 $(GENERATED)/$(BUS_NAME).5
all: dist/src/main.js $(BUNDLES) dist/cockpit-page/index.js $(MANPAGES) $(GENERATED)/shared-interface.bash $(GENERATED)/shared-interface.zsh

dist/src/main.js: $(SOURCES)
	$(TSC) -p .

dist/bundle/%: bin/% dist/src/main.js package-lock.json packaging/bundle-program.mjs
	@mkdir -p dist/bundle
	node packaging/bundle-program.mjs $< $@

# Type-checked with the DOM's types, then bundled by esbuild (cockpit/build.mjs).
dist/cockpit-page/index.js: $(PAGE_SOURCES)
	$(TSC) -p cockpit
	node cockpit/build.mjs
$(GENERATED)/stamp: dist/src/main.js man/shared-interface.1.scd.in
	node dist/src/cli/write-build-files.js $(GENERATED) >/dev/null
	touch $@
$(GENERATED)/shared-interface.bash $(GENERATED)/shared-interface.zsh: $(GENERATED)/stamp
$(GENERATED)/shared-interface.1: $(GENERATED)/stamp
	$(SCDOC) <$@.scd >$@
$(GENERATED)/$(BUS_NAME).5: $(GENERATED)/stamp
	$(SCDOC) <$@.scd >$@
$(GENERATED)/shared-interfaced.8: man/shared-interfaced.8.scd
	mkdir -p $(GENERATED)
	$(SCDOC) <$< >$@

install: all
	install -d '$(DESTDIR)$(APPDIR)/bin' '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(LIBEXECDIR)' \
	  '$(DESTDIR)$(POLKITACTIONDIR)' '$(DESTDIR)$(DBUSDIR)/system.d' '$(DESTDIR)$(DBUSDIR)/system-services' \
	  '$(DESTDIR)$(DBUSDIR)/interfaces' '$(DESTDIR)$(SYSTEMDUNITDIR)' '$(DESTDIR)$(MANDIR)/man1' \
	  '$(DESTDIR)$(MANDIR)/man5' '$(DESTDIR)$(MANDIR)/man8' '$(DESTDIR)$(BASHCOMPLETIONDIR)' '$(DESTDIR)$(ZSHCOMPLETIONDIR)' \
	  '$(DESTDIR)$(COCKPITDIR)' '$(DESTDIR)$(NMDISPATCHERDIR)'
	install -m 0644 $(BUNDLES) '$(DESTDIR)$(APPDIR)/bin/'
	printf '#!/bin/sh\nexec %s %s %s "$$@"\n' '$(NODE)' '$(DAEMON_NODE_FLAGS)' '$(APPDIR)/bin/shared-interfaced' >'$(DESTDIR)$(LIBEXECDIR)/shared-interfaced'
	printf '#!/bin/sh\nexec %s %s "$$@"\n' '$(NODE)' '$(APPDIR)/bin/shared-interface' >'$(DESTDIR)$(BINDIR)/shared-interface'
	printf '#!/bin/sh\nexec %s %s "$$@"\n' '$(NODE)' '$(APPDIR)/bin/shared-interface-firewall' >'$(DESTDIR)$(LIBEXECDIR)/shared-interface-firewall'
	chmod 0755 '$(DESTDIR)$(LIBEXECDIR)/shared-interfaced' '$(DESTDIR)$(BINDIR)/shared-interface' '$(DESTDIR)$(LIBEXECDIR)/shared-interface-firewall'
	$(SUBSTITUTE) hooks/50-shared-interface-firewall.in >'$(DESTDIR)$(NMDISPATCHERDIR)/50-shared-interface-firewall'
	chmod 0755 '$(DESTDIR)$(NMDISPATCHERDIR)/50-shared-interface-firewall'
	install -d '$(DESTDIR)$(LIBEXECDIR)/shared-interface'
	for hook in ifup-local ifdown-local; do \
	  $(SUBSTITUTE) hooks/ifupdown-local.in >'$(DESTDIR)$(LIBEXECDIR)/shared-interface/'$$hook && \
	  chmod 0755 '$(DESTDIR)$(LIBEXECDIR)/shared-interface/'$$hook || exit 1; \
	done
	install -m 0644 polkit/$(BUS_NAME).policy '$(DESTDIR)$(POLKITACTIONDIR)/$(BUS_NAME).policy'
	install -m 0644 dbus-services/$(BUS_NAME).conf '$(DESTDIR)$(DBUSDIR)/system.d/$(BUS_NAME).conf'
	install -m 0644 introspection/$(BUS_NAME).xml '$(DESTDIR)$(DBUSDIR)/interfaces/$(BUS_NAME).xml'
	$(SUBSTITUTE) dbus-services/$(BUS_NAME).service.in >'$(DESTDIR)$(DBUSDIR)/system-services/$(BUS_NAME).service'
	$(SUBSTITUTE) dbus-services/$(UNIT).in >'$(DESTDIR)$(SYSTEMDUNITDIR)/$(UNIT)'
	chmod 0644 '$(DESTDIR)$(DBUSDIR)/system-services/$(BUS_NAME).service' '$(DESTDIR)$(SYSTEMDUNITDIR)/$(UNIT)'
	for f in $(PAGE_FILES); do install -m 0644 "dist/cockpit-page/$$f" '$(DESTDIR)$(COCKPITDIR)/' || exit 1; done
	install -m 0644 $(GENERATED)/shared-interface.1 '$(DESTDIR)$(MANDIR)/man1/shared-interface.1'
	install -m 0644 $(GENERATED)/$(BUS_NAME).5 '$(DESTDIR)$(MANDIR)/man5/$(BUS_NAME).5'
	install -m 0644 $(GENERATED)/shared-interfaced.8 '$(DESTDIR)$(MANDIR)/man8/shared-interfaced.8'
	install -m 0644 $(GENERATED)/shared-interface.bash '$(DESTDIR)$(BASHCOMPLETIONDIR)/shared-interface'
	install -m 0644 $(GENERATED)/shared-interface.zsh '$(DESTDIR)$(ZSHCOMPLETIONDIR)/_shared-interface'

dist:
	git ls-files --cached --others --exclude-standard | while read -r f; do [ -e "$$f" ] && printf '%s\n' "$$f"; done \
	  | tar $(TAR_FLAGS) --transform 's,^,$(DIST_NAME)/,' --no-recursion -T - -czf '$(TARBALLDIR)/$(DIST_NAME).tar.gz'
	tar $(TAR_FLAGS) --exclude=node_modules/.cache -czf '$(TARBALLDIR)/$(DIST_NAME)-node-modules.tar.gz' node_modules

uninstall:
	rm -rf '$(DESTDIR)$(APPDIR)' '$(DESTDIR)$(COCKPITDIR)'
	rm -f '$(DESTDIR)$(LIBEXECDIR)/shared-interfaced' '$(DESTDIR)$(BINDIR)/shared-interface' \
	  '$(DESTDIR)$(LIBEXECDIR)/shared-interface-firewall' '$(DESTDIR)$(NMDISPATCHERDIR)/50-shared-interface-firewall' \
	  '$(DESTDIR)$(LIBEXECDIR)/shared-interface/ifup-local' '$(DESTDIR)$(LIBEXECDIR)/shared-interface/ifdown-local' \
	  '$(DESTDIR)$(POLKITACTIONDIR)/$(BUS_NAME).policy' '$(DESTDIR)$(DBUSDIR)/system.d/$(BUS_NAME).conf' \
	  '$(DESTDIR)$(DBUSDIR)/interfaces/$(BUS_NAME).xml' '$(DESTDIR)$(DBUSDIR)/system-services/$(BUS_NAME).service' \
	  '$(DESTDIR)$(SYSTEMDUNITDIR)/$(UNIT)' '$(DESTDIR)$(MANDIR)/man1/shared-interface.1' \
	  '$(DESTDIR)$(MANDIR)/man5/$(BUS_NAME).5' '$(DESTDIR)$(MANDIR)/man8/shared-interfaced.8' \
	  '$(DESTDIR)$(BASHCOMPLETIONDIR)/shared-interface'
