// Package faulttest holds Slotbridge's fault tests (issue 6): it builds the
// real binary, runs `slotbridge serve` as a child process and breaks things
// under load: SIGKILL in the middle of a booking burst, a PostgreSQL restart,
// a read-only or full SQLite data directory, slow and oversized requests, and
// (behind SLOTBRIDGE_SOAK) a long soak. After each fault it checks the data
// through the store: every booking answered 201 is there once, busy slots
// match appointments, and every committed command has its audit row.
//
// The tests live in a package of their own, with no non-test code, so that
// the binary is built once for them and their slow child processes do not
// slow the unit tests of cmd/slotbridge.
package faulttest
