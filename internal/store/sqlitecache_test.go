package store

import (
	"context"
	"path/filepath"
	"testing"
)

// TestSQLiteStatementCacheNested: the same query run again while its first
// result set is still open on the connection gets its own statement, so
// neither result is disturbed; and the cached statement is reused afterwards.
func TestSQLiteStatementCacheNested(t *testing.T) {
	ctx := context.Background()
	db := openSQLite("file:" + filepath.Join(t.TempDir(), "c.db"))
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT n FROM t WHERE n >= ? ORDER BY n`
	outer, err := tx.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for outer.Next() {
		var n int
		if err := outer.Scan(&n); err != nil {
			t.Fatal(err)
		}
		inner := 0
		rows, err := tx.QueryContext(ctx, q, n)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			inner++
		}
		rows.Close()
		got = append(got, n*10+inner)
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if want := []int{13, 22, 31}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("got %v, want %v", got, want)
	}
	var n int
	for i := 0; i < 3; i++ {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM t WHERE n >= ?`, 2).Scan(&n); err != nil || n != 2 {
			t.Fatalf("reused statement: %d, %v", n, err)
		}
	}
}
