// Package racetest proves, over real loopback HTTP on every store engine,
// that concurrent consumers can never double-book a slot.
package racetest
