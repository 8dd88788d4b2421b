package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// On SQLite and lib/pq the search's range query returns one packed text
// value instead of a row per slot. modernc's driver takes and releases the
// connection's mutex for every column it reads, and boxes every value: a
// 100-slot search read 1,000 columns that way, which was most of its time;
// lib/pq parses and boxes every column of its text rows much the same way.
// Packed, the rows are one column of one row, concatenated by the database
// and split here.
//
// Each slot is written as
//
//	id,schedule_id,start_at,end_at,access_profile_id,version,N:channelM:service_type
//
// where N and M are the byte lengths of the two texts, so the texts may hold
// any character; slots follow one another with no separator.

// sqliteFreeSlotsQuery is freeSlotsQuery packed: the generations and the
// booked counters, then the slots. The numbers of each slot are formatted in
// one call (a chain of || made a string per link); the texts are appended
// with || because format's %s stops at a NUL, which SQLite text may hold,
// and their lengths are in bytes (length() of text stops at a NUL too). The
// aggregate has no ORDER BY (it sorted through a temporary b-tree although
// the index scan already yields (start, id) order): unpack sorts instead,
// which costs one pass over rows already in order. Its arguments are
// practice four times, from, to, to, practice.
const sqliteFreeSlotsQuery = `SELECT ` + sqliteGenerationCols + `,
		(SELECT COALESCE(group_concat(format('%d,%d,%d,%d,%d,%d,%d:', id, schedule_id, start_at, end_at, access_profile_id, version,
			length(CAST(channel AS BLOB))) || channel || length(CAST(service_type AS BLOB)) || ':' || service_type, ''), '')
		FROM slots WHERE ` + FreeSlotsWhere + `)`

// pqFreeSlotsQuery is sqliteFreeSlotsQuery for PostgreSQL through lib/pq,
// whose text protocol and database/sql's boxing cost much the same per
// column (pgx reads binary rows without boxing, and keeps freeSlotsQuery,
// as do lib/pq searches longer than pqPackedMaxSpan).
// PostgreSQL text cannot hold a NUL, so format's %s is safe; text lengths
// are in characters, because the server's encoding need not be UTF-8 while
// what lib/pq receives is.
const pqFreeSlotsQuery = `SELECT ` + pgGenerationCols + `,
		(SELECT COALESCE(string_agg(format('%s,%s,%s,%s,%s,%s,%s:%s%s:%s', id, schedule_id, start_at, end_at, access_profile_id, version,
			char_length(channel), channel, char_length(service_type), service_type), ''), '')
		FROM slots WHERE ` + FreeSlotsWhere + `)`

// freeSlotRowsPacked is freeSlotRows on SQLite and lib/pq.
func (s *Store) freeSlotRowsPacked(ctx context.Context, sc *slotScanner, practiceID, from, to int64) error {
	query, runes := sqliteFreeSlotsQuery, false
	if s.engine == EnginePostgres {
		query, runes = pqFreeSlotsQuery, true
	}
	var packed string
	err := s.readQuery(ctx, query, []any{practiceID, practiceID, practiceID, practiceID, from, to, to, practiceID}, func(rs rowScanner) error {
		return rs.Scan(&sc.refsGen, &sc.profilesGen, &sc.booked, &packed)
	})
	if err != nil {
		return err
	}
	return sc.unpack(packed, runes)
}

// unpack appends the slots of a packed value to sc.rows; text lengths count
// characters when runes is set, bytes otherwise.
func (sc *slotScanner) unpack(p string, runes bool) error {
	for len(p) > 0 {
		r := slotRow{PracticeID: sc.practiceID, Status: "free"}
		var err error
		for _, dst := range []*int64{&r.ID, &r.ScheduleID, &r.StartAt, &r.EndAt, &r.AccessProfileID, &r.Version} {
			if *dst, p, err = cutInt(p, ','); err != nil {
				return err
			}
		}
		var ch, st string
		if ch, p, err = cutText(p, runes); err != nil {
			return err
		}
		if st, p, err = cutText(p, runes); err != nil {
			return err
		}
		r.Channel, r.ServiceType = sc.channel.intern(ch), sc.serviceType.intern(st)
		sc.rows = append(sc.rows, r)
	}
	sortRows(sc.rows)
	return nil
}

// sortRows puts rows in the search's (start, id) order.
func sortRows(rows []slotRow) {
	slices.SortFunc(rows, func(a, b slotRow) int {
		if c := cmp.Compare(a.StartAt, b.StartAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// cutInt reads a decimal integer ended by sep.
func cutInt(p string, sep byte) (int64, string, error) {
	i := strings.IndexByte(p, sep)
	if i < 0 {
		return 0, "", errPacked("number", p)
	}
	n, err := strconv.ParseInt(p[:i], 10, 64)
	if err != nil {
		return 0, "", errPacked("number", p)
	}
	return n, p[i+1:], nil
}

// cutText reads a length-prefixed text, N:text, N in bytes or in characters.
func cutText(p string, runes bool) (string, string, error) {
	n, rest, err := cutInt(p, ':')
	if err != nil {
		return "", "", err
	}
	if n < 0 || n > int64(len(rest)) {
		return "", "", errPacked("text length", p)
	}
	end := int(n)
	if runes {
		end = 0
		for k := int64(0); k < n; k++ {
			if end >= len(rest) {
				return "", "", errPacked("text length", p)
			}
			_, size := utf8.DecodeRuneInString(rest[end:])
			end += size
		}
	}
	return rest[:end], rest[end:], nil
}

// errPacked describes malformed packed data (never expected from the
// database; a fuzz target keeps the parser honest).
func errPacked(what, at string) error {
	if len(at) > 20 {
		at = at[:20] + "..."
	}
	return fmt.Errorf("store: packed search result: malformed %s at %q", what, at)
}
