// SPDX-License-Identifier: GPL-2.0-or-later
// The version the service reports; kept in step with package.json by a unit test.
export const VERSION = '0.1.0';
