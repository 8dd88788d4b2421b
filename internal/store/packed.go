package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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

// sqliteFreeSlotsQuery is freeSlotsQuery packed: the generations, then the
// slots. The numbers of each slot are formatted in one call (a chain of ||
// made a string per link); the texts are appended with || because format's
// %s stops at a NUL, which SQLite text may hold. The aggregate has no ORDER
// BY (it sorted through a temporary b-tree although the index scan already
// yields (start, id) order): unpack sorts instead, which costs one pass over
// rows already in order. Its arguments are practice, practice, practice,
// from, to, to.
const sqliteFreeSlotsQuery = `SELECT
		(SELECT COALESCE(SUM(refs), 0) FROM ref_generations WHERE practice_id IN (0, ?)),
		(SELECT COALESCE(MAX(profiles), 0) FROM ref_generations WHERE practice_id = ?),
		(SELECT COALESCE(group_concat(format('%d,%d,%d,%d,%d,%d,%d:', id, schedule_id, start_at, end_at, access_profile_id, version,
			length(CAST(channel AS BLOB))) || channel || length(CAST(service_type AS BLOB)) || ':' || service_type, ''), '')
		FROM slots WHERE practice_id = ? AND status = 'free' AND start_at >= ? AND start_at <= ? AND end_at <= ?)`

// pqFreeSlotsQuery is sqliteFreeSlotsQuery for PostgreSQL through lib/pq,
// whose text protocol and database/sql's boxing cost much the same per
// column (pgx reads binary rows without boxing, and keeps freeSlotsQuery).
// PostgreSQL text cannot hold a NUL, so format's %s is safe here.
const pqFreeSlotsQuery = `SELECT
		(SELECT CAST(COALESCE(SUM(refs), 0) AS BIGINT) FROM ref_generations WHERE practice_id IN (0, ?)),
		(SELECT COALESCE(MAX(profiles), 0) FROM ref_generations WHERE practice_id = ?),
		(SELECT COALESCE(string_agg(format('%s,%s,%s,%s,%s,%s,%s:%s%s:%s', id, schedule_id, start_at, end_at, access_profile_id, version,
			octet_length(channel), channel, octet_length(service_type), service_type), ''), '')
		FROM slots WHERE practice_id = ? AND status = 'free' AND start_at >= ? AND start_at <= ? AND end_at <= ?)`

// freeSlotRowsPacked is freeSlotRows on SQLite and lib/pq.
func (s *Store) freeSlotRowsPacked(ctx context.Context, sc *slotScanner, practiceID, from, to int64) error {
	query := sqliteFreeSlotsQuery
	if s.engine == EnginePostgres {
		query = pqFreeSlotsQuery
	}
	var packed string
	err := s.readQuery(ctx, query, []any{practiceID, practiceID, practiceID, from, to, to}, func(rs rowScanner) error {
		return rs.Scan(&sc.refsGen, &sc.profilesGen, &packed)
	})
	if err != nil {
		return err
	}
	return sc.unpack(packed)
}

// unpack appends the slots of a packed value to sc.rows.
func (sc *slotScanner) unpack(p string) error {
	for len(p) > 0 {
		r := slotRow{PracticeID: sc.practiceID, Status: "free"}
		var err error
		for _, dst := range []*int64{&r.ID, &r.ScheduleID, &r.StartAt, &r.EndAt, &r.AccessProfileID, &r.Version} {
			if *dst, p, err = cutInt(p, ','); err != nil {
				return err
			}
		}
		var ch, st string
		if ch, p, err = cutText(p); err != nil {
			return err
		}
		if st, p, err = cutText(p); err != nil {
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

// cutInt reads a decimal integer (with an optional minus sign) ended by sep.
func cutInt(p string, sep byte) (int64, string, error) {
	i, neg := 0, false
	if i < len(p) && p[i] == '-' {
		neg, i = true, 1
	}
	var n int64
	start := i
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
		if i-start >= 18 {
			return 0, "", fmt.Errorf("store: packed slot: number too long")
		}
		n = n*10 + int64(p[i]-'0')
	}
	if i == start || i >= len(p) || p[i] != sep {
		return 0, "", fmt.Errorf("store: packed slot: malformed number at %q", clipPacked(p))
	}
	if neg {
		n = -n
	}
	return n, p[i+1:], nil
}

// cutText reads a length-prefixed text, N:bytes.
func cutText(p string) (string, string, error) {
	n, rest, err := cutInt(p, ':')
	if err != nil {
		return "", "", err
	}
	if n < 0 || n > int64(len(rest)) {
		return "", "", fmt.Errorf("store: packed slot: text length %d out of range", n)
	}
	return rest[:n], rest[n:], nil
}

func clipPacked(p string) string {
	if len(p) > 20 {
		return p[:20] + "..."
	}
	return p
}
