// Package apptest drives the appointment interactions end to end over real
// loopback HTTP on every store engine: the booking race that proves no slot
// is ever double-booked, and the book/read/amend/cancel/retrieve flow.
package apptest
