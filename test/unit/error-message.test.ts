// SPDX-License-Identifier: GPL-2.0-or-later
// An error's message and hint share one wire string; the service formats it, clients parse it.
import test from 'ava';
import { formatErrorMessage, parseErrorMessage } from '../../src/service/error-message';

test('a message and its hint survive the wire; without a hint the text is the message', (t) => {
  t.is(formatErrorMessage('eth0 cannot be shared: NetworkManager does not manage it', 'nmcli device set eth0 managed yes'),
    'eth0 cannot be shared: NetworkManager does not manage it\nHint: nmcli device set eth0 managed yes');
  t.deepEqual(parseErrorMessage(formatErrorMessage('no such interface: eth9', 'list them with: shared-interface list')),
    { message: 'no such interface: eth9', hint: 'list them with: shared-interface list' });
  t.is(formatErrorMessage('plain'), 'plain');
  t.deepEqual(parseErrorMessage('plain'), { message: 'plain' });
});

test('another service\'s multi-line message stays whole; a hint that runs over lines stays whole', (t) => {
  t.deepEqual(parseErrorMessage('line one\nline two'), { message: 'line one\nline two' });
  t.deepEqual(parseErrorMessage('failed\nHint: try this\nthen that'), { message: 'failed', hint: 'try this\nthen that' });
  t.deepEqual(parseErrorMessage('Hint: only a hint'), { message: '', hint: 'only a hint' });
});
