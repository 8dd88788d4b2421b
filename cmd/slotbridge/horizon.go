package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

// horizonFor is how far ahead sessions are materialised and kept topped
// up for a horizon of weeks: whole weeks, and the day after them.
func horizonFor(weeks int) time.Duration { return time.Duration(weeks)*7*24*time.Hour + 24*time.Hour }

// horizonFlag registers --horizon-weeks on fs, defaulting to
// SLOTBRIDGE_HORIZON_WEEKS, and returns what reads it after parsing. serve
// and the admin CLI share it, so a template change made from the CLI
// materialises as far ahead as the server keeps (before, the CLI used the
// default six weeks and retired the sessions beyond them until the next
// hourly top-up).
func horizonFlag(fs *flag.FlagSet, usage string) func() (time.Duration, error) {
	// A malformed SLOTBRIDGE_HORIZON_WEEKS must not silently leave the
	// default in force; the flag, when given, wins over it.
	def, envErr := 6, error(nil)
	if v := os.Getenv("SLOTBRIDGE_HORIZON_WEEKS"); v != "" {
		if n, err := strconv.Atoi(v); err != nil {
			envErr = fmt.Errorf("SLOTBRIDGE_HORIZON_WEEKS=%q: want a whole number of weeks, 1 to 52", v)
		} else {
			def = n
		}
	}
	weeks := fs.Int("horizon-weeks", def, usage)
	return func() (time.Duration, error) {
		if envErr != nil && !flagGiven(fs, "horizon-weeks") {
			return 0, envErr
		}
		if *weeks < 1 || *weeks > 52 {
			return 0, fmt.Errorf("--horizon-weeks (SLOTBRIDGE_HORIZON_WEEKS) must be 1 to 52, not %d", *weeks)
		}
		return horizonFor(*weeks), nil
	}
}
