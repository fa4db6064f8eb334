#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs a command on a new pseudo-terminal (its controlling terminal, as a login's), as a person
# at that terminal would: when the output ends with PROMPT, types ANSWER and Enter. Copies
# everything the terminal shows to stdout and exits with the command's status.
#   answer-prompt.py PROMPT ANSWER -- COMMAND [ARG...]
# A password prompt (pkttyagent's, getpass(3)'s) prints its prompt, then turns the echo off with
# TCSAFLUSH, which discards whatever was typed in between: an answer typed as soon as the prompt
# shows can vanish, and the prompt then waits for a line that never comes. So, as a person who
# reads the prompt first, the answer is typed once the prompt has settled; should it still be
# echoed back (it came before the echo went off, and was discarded), it is typed again after the
# same pause. The terminal's own modes can't tell: the command may forward to another terminal
# (systemd-run --pty), which is where the prompt runs.
import os
import pty
import select
import sys
import time

SETTLE_S = 2

prompt, answer = sys.argv[1].encode(), sys.argv[2].encode()
command = sys.argv[4:]
pid, terminal = pty.fork()
if pid == 0:
    os.execvp(command[0], command)
shown = b''
typed_at = None  # where the output stood when the answer was last typed
attempts = 0
while True:
    ready, _, _ = select.select([terminal], [], [], 1)
    if not ready:
        continue
    try:
        chunk = os.read(terminal, 4096)
    except OSError:  # EIO: the last process with the terminal open has gone
        break
    if not chunk:
        break
    shown += chunk
    sys.stdout.buffer.write(chunk)
    sys.stdout.flush()
    prompted = typed_at is None and shown.rstrip().endswith(prompt)
    echoed = typed_at is not None and answer in shown[typed_at:]
    if (prompted or echoed) and attempts < 5:
        time.sleep(SETTLE_S)
        typed_at = len(shown)
        attempts += 1
        os.write(terminal, answer + b'\n')
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
