package conformance_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/conformance"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
	"github.com/slotbridge/slotbridge/provider"
)

func TestDemoProvider(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			st := storetest.Open(t, e)
			if err := demo.Load(context.Background(), st, time.Now(), 10*24*time.Hour); err != nil {
				t.Fatal(err)
			}
			prov := provider.New(st, &auth.Verifier{}, slog.New(slog.NewTextHandler(io.Discard, nil)), provider.Config{})
			srv := httptest.NewServer(prov.Handler())
			t.Cleanup(func() { srv.Close(); prov.Close() })
			d := conformance.DefaultData()
			c, err := conformance.NewClient(srv.URL+"/A20047/STU3/1/gpconnect", d, nil)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			rep, err := conformance.Run(context.Background(), conformance.Config{Client: c, Data: d, Out: &out})
			if err != nil {
				t.Fatal(err)
			}
			t.Log("\n" + out.String())
			if !rep.OK() {
				t.Errorf("%d checks failed", rep.Failed)
			}
		})
	}
}
