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
RECOVERY_UNIT = shared-interface-recovery.path
ROUTED_UNIT = shared-interface-routed@.service
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
VERSION := $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' package.json)
DIST_NAME = shared-interface-$(VERSION)
# Generated from the command table and the D-Bus spec: man pages (via scdoc) and the completion.
GENERATED = dist/generated
MANPAGES = $(GENERATED)/shared-interface.1 $(GENERATED)/shared-interfaced.8 $(GENERATED)/$(BUS_NAME).5
# The npm packages in the bundles and the page (from esbuild's metafiles) and their license texts.
LICENSES = dist/licenses/bundled.json
# What a build makes for `make install`: the release tarball ships these built, listed in
# RELEASE_LIST, so that a package build (Fedora's: noarch, offline, on any architecture) needs
# neither node_modules nor esbuild nor a network.
BUILT = $(BUNDLES) $(addprefix dist/cockpit-page/,$(PAGE_FILES)) $(MANPAGES) $(GENERATED)/shared-interface.bash $(GENERATED)/shared-interface.zsh
RELEASE_LIST = dist/release-files

ifneq ($(wildcard $(RELEASE_LIST)),)
# An unpacked release tarball: everything is built. `all` checks that it is all there and builds
# nothing (changed sources need a checkout with `npm ci`, and `make dist` again).
all:
	@missing=$$(while read -r f; do [ -e "$$f" ] || echo "$$f"; done <$(RELEASE_LIST)); \
	  [ -z "$$missing" ] || { echo "missing from this release tarball (make dist ships them):" $$missing >&2; exit 1; }
else
all: dist/src/main.js $(BUILT) $(LICENSES)

dist/src/main.js: $(SOURCES)
	$(TSC) -p .

dist/bundle/%: bin/% dist/src/main.js package-lock.json packaging/bundle-program.mjs
	@mkdir -p dist/bundle
	node packaging/bundle-program.mjs $< $@

# Type-checked with the DOM's types, then bundled by esbuild (cockpit/build.mjs).
$(addprefix dist/cockpit-page/,$(filter-out index.js,$(PAGE_FILES))): dist/cockpit-page/index.js
dist/cockpit-page/index.js: $(PAGE_SOURCES)
	$(TSC) -p cockpit
	node cockpit/build.mjs
$(LICENSES): $(BUNDLES) dist/cockpit-page/index.js packaging/bundled-packages.mjs package-lock.json $(shell find packaging/licenses -type f)
	node packaging/bundled-packages.mjs dist/licenses
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
endif

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
	printf '#!/bin/sh\nexec %s %s "$$@"\n' '$(NODE)' '$(APPDIR)/bin/shared-interface-routed' >'$(DESTDIR)$(LIBEXECDIR)/shared-interface-routed'
	chmod 0755 '$(DESTDIR)$(LIBEXECDIR)/shared-interfaced' '$(DESTDIR)$(BINDIR)/shared-interface' '$(DESTDIR)$(LIBEXECDIR)/shared-interface-firewall' '$(DESTDIR)$(LIBEXECDIR)/shared-interface-routed'
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
	$(SUBSTITUTE) dbus-services/$(ROUTED_UNIT).in >'$(DESTDIR)$(SYSTEMDUNITDIR)/$(ROUTED_UNIT)'
	chmod 0644 '$(DESTDIR)$(DBUSDIR)/system-services/$(BUS_NAME).service' '$(DESTDIR)$(SYSTEMDUNITDIR)/$(UNIT)' '$(DESTDIR)$(SYSTEMDUNITDIR)/$(ROUTED_UNIT)'
	install -m 0644 dbus-services/$(RECOVERY_UNIT) '$(DESTDIR)$(SYSTEMDUNITDIR)/$(RECOVERY_UNIT)'
	install -d '$(DESTDIR)$(SYSTEMDUNITDIR)/paths.target.wants'
	ln -sf ../$(RECOVERY_UNIT) '$(DESTDIR)$(SYSTEMDUNITDIR)/paths.target.wants/$(RECOVERY_UNIT)'
	for f in $(PAGE_FILES) $(notdir $(wildcard dist/cockpit-page/po.*.js)); do install -m 0644 "dist/cockpit-page/$$f" '$(DESTDIR)$(COCKPITDIR)/' || exit 1; done
	install -m 0644 $(GENERATED)/shared-interface.1 '$(DESTDIR)$(MANDIR)/man1/shared-interface.1'
	install -m 0644 $(GENERATED)/$(BUS_NAME).5 '$(DESTDIR)$(MANDIR)/man5/$(BUS_NAME).5'
	install -m 0644 $(GENERATED)/shared-interfaced.8 '$(DESTDIR)$(MANDIR)/man8/shared-interfaced.8'
	install -m 0644 $(GENERATED)/shared-interface.bash '$(DESTDIR)$(BASHCOMPLETIONDIR)/shared-interface'
	install -m 0644 $(GENERATED)/shared-interface.zsh '$(DESTDIR)$(ZSHCOMPLETIONDIR)/_shared-interface'

# `make dist`: the release tarball TARBALLDIR/shared-interface-VERSION.tar.gz (the spec's
# Source0): the files git tracks, as they are in the work tree (untracked files never; the
# tarballs are ignored by git), and what `all` built with the license texts of what it bundled,
# listed in the tarball's RELEASE_LIST (in a checkout there is none). Repeatable: sorted names, one owner, one mtime; written aside, then renamed.
TARBALLDIR ?= .
TAR_FLAGS = --sort=name --owner=0 --group=0 --numeric-owner --mtime='2000-01-01 00:00Z'
dist: all
	@git rev-parse --git-dir >/dev/null 2>&1 || { echo "make dist runs in a git checkout (its file list is git's)" >&2; exit 1; }
	list=$$(mktemp $(RELEASE_LIST).XXXXXX) && chmod 0644 "$$list" && trap 'rm -f "$$list"' EXIT && \
	{ printf '%s\n' $(BUILT) $(LICENSES); find dist/licenses -type f ! -name bundled.json; } | sort >"$$list" && \
	{ git ls-files --cached | while read -r f; do [ -e "$$f" ] && printf '%s\n' "$$f"; done; cat "$$list"; echo "$$list"; } \
	  | tar $(TAR_FLAGS) --transform "s,^$$list\$$,$(RELEASE_LIST),;s,^,$(DIST_NAME)/," --no-recursion -T - -cf - \
	  | gzip -9 -n >'$(TARBALLDIR)/$(DIST_NAME).tar.gz.tmp' && \
	mv '$(TARBALLDIR)/$(DIST_NAME).tar.gz.tmp' '$(TARBALLDIR)/$(DIST_NAME).tar.gz'

uninstall:
	rm -rf '$(DESTDIR)$(APPDIR)' '$(DESTDIR)$(COCKPITDIR)'
	rm -f '$(DESTDIR)$(LIBEXECDIR)/shared-interfaced' '$(DESTDIR)$(BINDIR)/shared-interface' \
	  '$(DESTDIR)$(LIBEXECDIR)/shared-interface-firewall' '$(DESTDIR)$(LIBEXECDIR)/shared-interface-routed' '$(DESTDIR)$(NMDISPATCHERDIR)/50-shared-interface-firewall' \
	  '$(DESTDIR)$(LIBEXECDIR)/shared-interface/ifup-local' '$(DESTDIR)$(LIBEXECDIR)/shared-interface/ifdown-local' \
	  '$(DESTDIR)$(POLKITACTIONDIR)/$(BUS_NAME).policy' '$(DESTDIR)$(DBUSDIR)/system.d/$(BUS_NAME).conf' \
	  '$(DESTDIR)$(DBUSDIR)/interfaces/$(BUS_NAME).xml' '$(DESTDIR)$(DBUSDIR)/system-services/$(BUS_NAME).service' \
	  '$(DESTDIR)$(SYSTEMDUNITDIR)/$(UNIT)' '$(DESTDIR)$(SYSTEMDUNITDIR)/$(RECOVERY_UNIT)' '$(DESTDIR)$(SYSTEMDUNITDIR)/$(ROUTED_UNIT)' \
	  '$(DESTDIR)$(SYSTEMDUNITDIR)/paths.target.wants/$(RECOVERY_UNIT)' '$(DESTDIR)$(MANDIR)/man1/shared-interface.1' \
	  '$(DESTDIR)$(MANDIR)/man5/$(BUS_NAME).5' '$(DESTDIR)$(MANDIR)/man8/shared-interfaced.8' \
	  '$(DESTDIR)$(BASHCOMPLETIONDIR)/shared-interface'
