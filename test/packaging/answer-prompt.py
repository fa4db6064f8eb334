#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs a command on a new pseudo-terminal (its controlling terminal, as a login's), as a person
# at that terminal would: when the output ends with PROMPT, types ANSWER and Enter, once. Copies
# everything the terminal shows to stdout and exits with the command's status.
#   answer-prompt.py PROMPT ANSWER -- COMMAND [ARG...]
import os
import pty
import select
import sys
import time

prompt, answer = sys.argv[1].encode(), sys.argv[2].encode()
command = sys.argv[4:]
pid, terminal = pty.fork()
if pid == 0:
    os.execvp(command[0], command)
shown = b''
answered = False
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
    if not answered and shown.rstrip().endswith(prompt):
        os.write(terminal, answer + b'\n')
        answered = True
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
