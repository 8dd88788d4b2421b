package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/slotbridge/slotbridge/internal/store"
)

func TestScratchConcurrentOpenSQLite(t *testing.T) {
	cfg := store.Config{Path: filepath.Join(t.TempDir(), "c.db")}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := store.Open(context.Background(), cfg)
			errs[i] = err
			if err == nil {
				st.Close()
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
}
