# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
# A minimal D-Bus client in plain Python for modules run on the managed host: the system bus's
# unix socket, SASL EXTERNAL, and the wire format of the D-Bus specification, so that a method's
# error reply arrives as its name and message (no tool's output to parse, no binding to install).
# It makes method calls and reads their replies; it never serves, and it passes no file descriptors.
# Replies are checked as they are read: a malformed one is a DBusProtocolError, never a crash.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket
import struct
import time

SYSTEM_BUS_DEFAULT_ADDRESS = 'unix:path=/var/run/dbus/system_bus_socket'

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
# Header fields: code → (name, signature of its variant).
FIELD_PATH, FIELD_INTERFACE, FIELD_MEMBER, FIELD_ERROR_NAME = 1, 2, 3, 4
FIELD_REPLY_SERIAL, FIELD_DESTINATION, FIELD_SENDER, FIELD_SIGNATURE = 5, 6, 7, 8
_FIELD_SIGNATURES = {1: 'o', 2: 's', 3: 's', 4: 's', 5: 'u', 6: 's', 7: 's', 8: 'g', 9: 'u'}

MAX_MESSAGE_BYTES = 128 * 1024 * 1024  # the specification's limit
MAX_ARRAY_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64  # 32 nested arrays and 32 nested structs, as the specification allows

_FIXED = {'y': ('B', 1), 'b': ('I', 4), 'n': ('h', 2), 'q': ('H', 2), 'i': ('i', 4), 'u': ('I', 4),
          'x': ('q', 8), 't': ('Q', 8), 'd': ('d', 8), 'h': ('I', 4)}
_BASIC = 'ybnqiuxtdhsog'
_ALIGN = dict([(code, size) for code, (_fmt, size) in _FIXED.items()] + [
    ('s', 4), ('o', 4), ('g', 1), ('a', 4), ('(', 8), ('{', 8), ('v', 1)])


class DBusProtocolError(Exception):
    """The peer sent what the D-Bus specification does not allow, or the connection failed."""


class DBusErrorReply(Exception):
    """An error reply: the D-Bus error name and its message."""

    def __init__(self, name, message):
        super(DBusErrorReply, self).__init__('%s: %s' % (name, message))
        self.name = name
        self.message = message


def _type_end(signature, start, in_array=False):
    """The index just after the single complete type that starts at `start` in `signature`."""
    if start >= len(signature):
        raise DBusProtocolError('signature %r ends inside a type' % signature)
    code = signature[start]
    if code in _FIXED or code in 'sogv':
        return start + 1
    if code == 'a':
        return _type_end(signature, start + 1, in_array=True)
    if code == '(' or (code == '{' and in_array):
        close = ')' if code == '(' else '}'
        if code == '{' and (start + 1 >= len(signature) or signature[start + 1] not in _BASIC):
            raise DBusProtocolError('a dict entry\'s key must be a basic type in signature %r' % signature)
        i = start + 1
        members = 0
        while i < len(signature) and signature[i] != close:
            i = _type_end(signature, i)
            members += 1
        if i >= len(signature) or members == 0 or (code == '{' and members != 2):
            raise DBusProtocolError('malformed container in signature %r' % signature)
        return i + 1
    raise DBusProtocolError('unexpected %r in signature %r' % (code, signature))


def split_signature(signature):
    """The complete types a signature is made of: 'sa{sv}' → ['s', 'a{sv}']."""
    types = []
    i = 0
    while i < len(signature):
        end = _type_end(signature, i)
        types.append(signature[i:end])
        i = end
    return types


class Writer(object):
    """Marshals values into little-endian D-Bus wire format. A variant's value is (signature, value)."""

    def __init__(self):
        self.buf = bytearray()

    def align(self, n):
        self.buf.extend(b'\0' * (-len(self.buf) % n))

    def write(self, signature, value):
        code = signature[0]
        self.align(_ALIGN[code])
        if code in _FIXED:
            fmt = _FIXED[code][0]
            if code == 'b':
                value = 1 if value else 0
            try:
                self.buf.extend(struct.pack('<' + fmt, value))
            except struct.error:
                raise ValueError('%r does not fit D-Bus type %s' % (value, code))
        elif code in 'so':
            data = value.encode('utf-8')
            if b'\0' in data:
                raise ValueError('a D-Bus string cannot hold a NUL character')
            self.buf.extend(struct.pack('<I', len(data)) + data + b'\0')
        elif code == 'g':
            data = value.encode('ascii')
            self.buf.extend(struct.pack('<B', len(data)) + data + b'\0')
        elif code == 'v':
            inner, inner_value = value
            split_signature(inner)
            self.write('g', inner)
            self.write(inner, inner_value)
        elif code == 'a':
            element = signature[1:]
            length_at = len(self.buf)
            self.buf.extend(b'\0\0\0\0')
            self.align(_ALIGN[element[0]])
            start = len(self.buf)
            items = sorted(value.items()) if element[0] == '{' else value
            for item in items:
                self.write(element, item)
            struct.pack_into('<I', self.buf, length_at, len(self.buf) - start)
        elif code in '({':
            members = split_signature(signature[1:-1])
            if len(members) != len(value):
                raise ValueError('%d values for the struct %s' % (len(value), signature))
            for member, item in zip(members, value):
                self.write(member, item)
        else:
            raise ValueError('cannot marshal D-Bus type %s' % code)


class Reader(object):
    """Unmarshals D-Bus wire format, checking every length and offset against the data."""

    def __init__(self, data, big_endian=False):
        self.data = data
        self.pos = 0
        self.order = '>' if big_endian else '<'

    def align(self, n):
        pad = -self.pos % n
        if self.pos + pad > len(self.data):
            raise DBusProtocolError('message truncated in padding')
        if any(bytearray(self.data[self.pos:self.pos + pad])):
            raise DBusProtocolError('padding is not zero')
        self.pos += pad

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise DBusProtocolError('message truncated: %d bytes wanted at offset %d of %d' % (n, self.pos, len(self.data)))
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def read(self, signature, depth=0):
        if depth > MAX_DEPTH:
            raise DBusProtocolError('values nested too deeply')
        code = signature[0]
        self.align(_ALIGN.get(code, 1))
        if code in _FIXED:
            fmt, size = _FIXED[code]
            value = struct.unpack(self.order + fmt, self.take(size))[0]
            if code == 'b':
                if value > 1:
                    raise DBusProtocolError('boolean %d is neither 0 nor 1' % value)
                return value == 1
            return value
        if code in 'sog':
            if code == 'g':
                length = struct.unpack('B', self.take(1))[0]
            else:
                length = struct.unpack(self.order + 'I', self.take(4))[0]
            raw = self.take(length)
            if self.take(1) != b'\0' or b'\0' in raw:
                raise DBusProtocolError('string is not NUL-terminated or holds a NUL')
            try:
                return raw.decode('utf-8')
            except UnicodeDecodeError:
                raise DBusProtocolError('string is not UTF-8')
        if code == 'v':
            inner = self.read('g', depth)
            if len(split_signature(inner)) != 1:
                raise DBusProtocolError('variant signature %r is not one complete type' % inner)
            return self.read(inner, depth + 1)
        if code == 'a':
            length = struct.unpack(self.order + 'I', self.take(4))[0]
            if length > MAX_ARRAY_BYTES:
                raise DBusProtocolError('array of %d bytes is longer than the specification allows' % length)
            element = signature[1:]
            self.align(_ALIGN[element[0]])
            end = self.pos + length
            if end > len(self.data):
                raise DBusProtocolError('array runs past the end of the message')
            items = []
            while self.pos < end:
                items.append(self.read(element, depth + 1))
            if self.pos != end:
                raise DBusProtocolError('array elements overrun the array length')
            return dict(items) if element[0] == '{' else items
        if code in '({':
            return tuple(self.read(member, depth + 1) for member in split_signature(signature[1:-1]))
        raise DBusProtocolError('cannot read D-Bus type %s' % code)

    def read_body(self, signature):
        values = [self.read(complete) for complete in split_signature(signature)]
        if self.pos != len(self.data):
            raise DBusProtocolError('%d bytes left after the body' % (len(self.data) - self.pos))
        return values


def encode_message(serial, message_type, fields, signature='', args=(), flags=0):
    """One message: the header with its fields (code → value), padded to 8, then the body."""
    body = Writer()
    for complete, value in zip(split_signature(signature), args):
        body.write(complete, value)
    if signature:
        fields = dict(fields)
        fields[FIELD_SIGNATURE] = signature
    header = Writer()
    header.write('y', ord('l'))
    header.write('y', message_type)
    header.write('y', flags)
    header.write('y', 1)
    header.write('u', len(body.buf))
    header.write('u', serial)
    header.write('a(yv)', [(code, (_FIELD_SIGNATURES[code], value)) for code, value in sorted(fields.items())])
    header.align(8)
    return bytes(header.buf + body.buf)


class Message(object):
    def __init__(self, message_type, flags, serial, fields, body):
        self.type = message_type
        self.flags = flags
        self.serial = serial
        self.fields = fields
        self.body = body


def message_length(fixed):
    """The whole message's length from its first 16 bytes (fixed header and the fields' length)."""
    if len(fixed) < 16:
        raise DBusProtocolError('message header truncated')
    order = {b'l': '<', b'B': '>'}.get(fixed[0:1])
    if order is None:
        raise DBusProtocolError('unknown byte order %r' % fixed[0:1])
    version = struct.unpack('B', fixed[3:4])[0]
    if version != 1:
        raise DBusProtocolError('unknown protocol version %d' % version)
    body_length, _serial, fields_length = struct.unpack(order + 'III', fixed[4:16])
    total = 16 + fields_length + (-fields_length % 8) + body_length
    if total > MAX_MESSAGE_BYTES:
        raise DBusProtocolError('message of %d bytes is longer than the specification allows' % total)
    return total


def decode_message(data):
    """A whole message: header fields checked for their types, then the body by its signature."""
    message_length(data[:16])
    big_endian = data[0:1] == b'B'
    reader = Reader(data, big_endian)
    reader.pos = 1
    message_type, flags = reader.read('y'), reader.read('y')
    reader.pos = 4
    body_length, serial = reader.read('u'), reader.read('u')
    fields = {}
    for code, value in reader.read('a(yv)'):
        expected = _FIELD_SIGNATURES.get(code)
        if expected is None:
            continue  # unknown fields are to be ignored
        # The variant's signature is not returned by read(); check the value's Python type instead.
        wanted_type = int if expected == 'u' else type(u'')
        if not isinstance(value, wanted_type):
            raise DBusProtocolError('header field %d has the wrong type' % code)
        fields[code] = value
    reader.align(8)
    if reader.pos + body_length != len(data):
        raise DBusProtocolError('body length does not match the message')
    body = Reader(data[reader.pos:], big_endian).read_body(fields.get(FIELD_SIGNATURE, ''))
    return Message(message_type, flags, serial, fields, body)


def system_bus_socket_address(environ=None):
    """The system bus's socket (a leading NUL for an abstract one): DBUS_SYSTEM_BUS_ADDRESS's first unix: entry, or the default."""
    environ = os.environ if environ is None else environ
    for entry in environ.get('DBUS_SYSTEM_BUS_ADDRESS', SYSTEM_BUS_DEFAULT_ADDRESS).split(';'):
        transport, _sep, params = entry.partition(':')
        if transport != 'unix':
            continue
        keys = dict(part.partition('=')[::2] for part in params.split(',') if part)
        if 'path' in keys:
            return _unescape(keys['path'])
        if 'abstract' in keys:
            return '\0' + _unescape(keys['abstract'])
    raise DBusProtocolError('no unix socket among the system bus addresses %r' % environ.get('DBUS_SYSTEM_BUS_ADDRESS'))


def _unescape(value):
    """A D-Bus address value: %XX escapes."""
    out = bytearray()
    raw = value.encode('utf-8')
    i = 0
    while i < len(raw):
        if raw[i:i + 1] == b'%':
            try:
                out.append(int(raw[i + 1:i + 3], 16))
            except ValueError:
                raise DBusProtocolError('malformed escape in the bus address %r' % value)
            i += 3
        else:
            out.extend(raw[i:i + 1])
            i += 1
    return out.decode('utf-8')


class Connection(object):
    """A connection to the system bus that makes method calls and waits for their replies."""

    def __init__(self, address=None, timeout=25.0):
        self.address = system_bus_socket_address() if address is None else address
        self.serial = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.pending = b''
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(self.address)
            self._authenticate()
            self.unique_name = self.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                                         'Hello', timeout=timeout)[0]
        except (socket.error, OSError) as err:
            self.close()
            raise DBusProtocolError('cannot connect to the system bus at %s: %s' % (self.address.lstrip('\0'), err))
        except Exception:
            self.close()
            raise

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _authenticate(self):
        uid = str(os.geteuid()).encode('ascii')
        self.sock.sendall(b'\0AUTH EXTERNAL ' + ''.join('%02x' % c for c in bytearray(uid)).encode('ascii') + b'\r\n')
        line = self._read_line()
        if not line.startswith(b'OK '):
            raise DBusProtocolError('the system bus refused authentication as uid %s: %r' % (uid.decode(), line[:100]))
        self.sock.sendall(b'BEGIN\r\n')

    def _read_line(self):
        while b'\r\n' not in self.pending:
            if len(self.pending) > 4096:
                raise DBusProtocolError('the bus sent an overlong authentication line')
            self._receive()
        line, _sep, self.pending = self.pending.partition(b'\r\n')
        return line

    def _receive(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise DBusProtocolError('the system bus closed the connection')
        self.pending += chunk

    def _read_message(self):
        while len(self.pending) < 16:
            self._receive()
        total = message_length(self.pending[:16])
        while len(self.pending) < total:
            self._receive()
        data, self.pending = self.pending[:total], self.pending[total:]
        return decode_message(data)

    def _answer_peer(self, message):
        """Answers Peer.Ping, as every D-Bus library does: the service pings a caller that was sent a
        lot, to learn that it reads its replies (until it answers, its calls are refused)."""
        sender = message.fields.get(FIELD_SENDER)
        if (message.fields.get(FIELD_INTERFACE) != 'org.freedesktop.DBus.Peer' or message.fields.get(FIELD_MEMBER) != 'Ping'
                or message.flags & 1 or not sender):
            return
        self.serial += 1
        self.sock.sendall(encode_message(self.serial, METHOD_RETURN, {FIELD_REPLY_SERIAL: message.serial, FIELD_DESTINATION: sender}))

    def call(self, destination, path, interface, member, signature='', args=(), timeout=25.0):
        """The method's out arguments as a list; an error reply raises DBusErrorReply. Interactive
        authorization is not allowed (the flag is unset): a caller without a prompt gets polkit's no at once."""
        try:
            return self._call(destination, path, interface, member, signature, args, timeout)
        except (socket.error, OSError) as err:
            raise DBusProtocolError('the system bus connection failed during %s.%s: %s' % (interface, member, err))

    def _call(self, destination, path, interface, member, signature, args, timeout):
        self.serial += 1
        serial = self.serial
        fields = {FIELD_PATH: path, FIELD_MEMBER: member, FIELD_DESTINATION: destination}
        if interface:
            fields[FIELD_INTERFACE] = interface
        self.sock.sendall(encode_message(serial, METHOD_CALL, fields, signature, args))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DBusErrorReply('org.freedesktop.DBus.Error.NoReply', '%s.%s did not answer within %d s' % (interface, member, timeout))
            self.sock.settimeout(left)
            try:
                message = self._read_message()
            except socket.timeout:
                continue
            if message.type == METHOD_CALL:
                self._answer_peer(message)
                continue
            if message.type not in (METHOD_RETURN, ERROR) or message.fields.get(FIELD_REPLY_SERIAL) != serial:
                continue  # a signal (NameAcquired) or another call's reply
            if message.type == METHOD_RETURN:
                return message.body
            text = message.body[0] if message.body and isinstance(message.body[0], type(u'')) else ''
            raise DBusErrorReply(message.fields.get(FIELD_ERROR_NAME, 'org.freedesktop.DBus.Error.Failed'), text)
