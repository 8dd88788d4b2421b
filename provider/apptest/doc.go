// Package apptest drives the appointment interactions end to end over real
// loopback HTTP on every store engine: the booking race that proves no slot
// is ever double-booked, the same invariant under concurrent book, amend,
// cancel and re-book churn, an access-profile cap under contention, and the
// book/read/amend/cancel/retrieve flow.
package apptest
