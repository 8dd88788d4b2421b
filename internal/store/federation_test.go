package store_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestFederationStore checks the endpoint directory and hubs on every engine.
func TestFederationStore(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, e)

			ep := &scheduling.Endpoint{ODS: "A20047", Name: "Dr Legg", ServiceRoot: "http://127.0.0.1:9/A20047/STU3/1/gpconnect",
				ASID: "918999198993", Interactions: []string{"urn:nhs:names:services:gpconnect:fhir:rest:search:slot-1"}, Enabled: true}
			if err := st.SaveEndpoint(ctx, ep); err != nil {
				t.Fatal(err)
			}
			ep.ASID = "918999198999"
			ep.Interactions = nil
			if err := st.SaveEndpoint(ctx, ep); err != nil {
				t.Fatalf("replace: %v", err)
			}
			bad := &scheduling.Endpoint{ODS: "a-1", ServiceRoot: "ftp://x/", ASID: ""}
			if err := st.SaveEndpoint(ctx, bad); scheduling.ErrorCode(err) != scheduling.EINVALID {
				t.Fatalf("bad entry: got %v, want EINVALID", err)
			}
			got, err := st.EndpointsByODS(ctx, []string{"A20047", "ZZZ99"})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got["A20047"].ASID != "918999198999" || got["A20047"].Interactions != nil || !got["A20047"].Enabled {
				t.Fatalf("EndpointsByODS = %+v", got)
			}
			all, err := st.Endpoints(ctx)
			if err != nil || len(all) != 1 {
				t.Fatalf("Endpoints = %v, %v", all, err)
			}

			t.Run("ErrHubNotFound", func(t *testing.T) {
				if _, err := st.HubByName(ctx, "nope"); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
					t.Fatalf("got %v", err)
				}
				if err := st.AddHubMembers(ctx, "nope", []string{"A20047"}); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
					t.Fatalf("got %v", err)
				}
			})
			if _, err := st.CreateHub(ctx, "leeds-pcn"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateHub(ctx, "leeds-pcn"); scheduling.ErrorCode(err) != scheduling.EDUPLICATE {
				t.Fatalf("duplicate hub: got %v", err)
			}
			if err := st.AddHubMembers(ctx, "leeds-pcn", []string{"B82005", "A20047", "A20047"}); err != nil {
				t.Fatal(err)
			}
			if err := st.AddHubMembers(ctx, "leeds-pcn", []string{"A20047", "C81001"}); err != nil {
				t.Fatal(err)
			}
			if err := st.AddHubMembers(ctx, "leeds-pcn", []string{"bad code"}); scheduling.ErrorCode(err) != scheduling.EINVALID {
				t.Fatalf("bad member: got %v", err)
			}
			if err := st.RemoveHubMembers(ctx, "leeds-pcn", []string{"B82005"}); err != nil {
				t.Fatal(err)
			}
			if err := st.RemoveHubMembers(ctx, "leeds-pcn", []string{"B82005"}); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
				t.Fatalf("remove twice: got %v", err)
			}
			h, err := st.HubByName(ctx, "leeds-pcn")
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"A20047", "C81001"}; !reflect.DeepEqual(h.Members, want) {
				t.Fatalf("members %v, want %v", h.Members, want)
			}
			if _, err := st.CreateHub(ctx, "empty"); err != nil {
				t.Fatal(err)
			}
			hubs, err := st.Hubs(ctx)
			if err != nil || len(hubs) != 2 || hubs[0].Name != "empty" || len(hubs[0].Members) != 0 || len(hubs[1].Members) != 2 {
				t.Fatalf("Hubs = %+v, %v", hubs, err)
			}

			// Deleting a directory entry leaves hubs listing the practice;
			// deleting a hub takes its members with it, so a hub of the same
			// name made afterwards starts empty.
			if err := st.DeleteEndpoints(ctx, []string{"A20047"}); err != nil {
				t.Fatal(err)
			}
			if err := st.DeleteEndpoints(ctx, []string{"A20047"}); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
				t.Fatalf("delete endpoint twice: got %v", err)
			}
			if all, err := st.Endpoints(ctx); err != nil || len(all) != 0 {
				t.Fatalf("Endpoints after delete = %v, %v", all, err)
			}
			if h, err := st.HubByName(ctx, "leeds-pcn"); err != nil || !reflect.DeepEqual(h.Members, []string{"A20047", "C81001"}) {
				t.Fatalf("hub after endpoint delete = %+v, %v", h, err)
			}
			if err := st.DeleteHub(ctx, "leeds-pcn"); err != nil {
				t.Fatal(err)
			}
			if err := st.DeleteHub(ctx, "leeds-pcn"); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
				t.Fatalf("delete hub twice: got %v", err)
			}
			if _, err := st.HubByName(ctx, "leeds-pcn"); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
				t.Fatalf("deleted hub still read: %v", err)
			}
			if _, err := st.CreateHub(ctx, "leeds-pcn"); err != nil {
				t.Fatal(err)
			}
			if h, err := st.HubByName(ctx, "leeds-pcn"); err != nil || len(h.Members) != 0 {
				t.Fatalf("recreated hub = %+v, %v", h, err)
			}
			var orphans int
			if err := st.DB().GetContext(ctx, &orphans, `SELECT COUNT(*) FROM hub_members WHERE hub_id NOT IN (SELECT id FROM hubs)`); err != nil || orphans != 0 {
				t.Fatalf("orphan members = %d, %v", orphans, err)
			}
		})
	}
}

// TestImportDirectoryAllOrNothing: an import saves entries and hubs together
// (an existing hub gains members, a new one is made) and, when any part is
// refused, saves none of it.
func TestImportDirectoryAllOrNothing(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, e)
			ep := func(ods string) *scheduling.Endpoint {
				return &scheduling.Endpoint{ODS: ods, Name: ods, ServiceRoot: "http://127.0.0.1:9/" + ods + "/STU3/1/gpconnect", ASID: "918999198993", Enabled: true}
			}
			if _, err := st.CreateHub(ctx, "north"); err != nil {
				t.Fatal(err)
			}
			err := st.ImportDirectory(ctx, []*scheduling.Endpoint{ep("A20047"), ep("B82005")},
				[]*scheduling.Hub{{Name: "north", Members: []string{"B82005"}}, {Name: " south ", Members: []string{"A20047", "B82005"}}})
			if err != nil {
				t.Fatal(err)
			}
			hubs, err := st.Hubs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(hubs) != 2 || hubs[0].Name != "north" || !reflect.DeepEqual(hubs[0].Members, []string{"B82005"}) ||
				hubs[1].Name != "south" || !reflect.DeepEqual(hubs[1].Members, []string{"A20047", "B82005"}) {
				t.Fatalf("hubs after import: %+v", hubs)
			}
			// The last hub's member is malformed, which the transaction finds after
			// writing the entry and hub east: neither may be saved.
			err = st.ImportDirectory(ctx, []*scheduling.Endpoint{ep("C81001")},
				[]*scheduling.Hub{{Name: "east", Members: []string{"C81001"}}, {Name: "west", Members: []string{"not an ods"}}})
			if scheduling.ErrorCode(err) != scheduling.EINVALID {
				t.Fatalf("bad member: got %v, want EINVALID", err)
			}
			if got, _ := st.EndpointsByODS(ctx, []string{"C81001"}); len(got) != 0 {
				t.Fatal("a refused import saved an entry")
			}
			if _, err := st.HubByName(ctx, "east"); scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
				t.Fatalf("a refused import made hub east: %v", err)
			}
		})
	}
}

// TestRemovalAllOrNothing: removing several hub members, or several
// directory entries, removes all of them or, when any code is not there,
// none; the refusal names every missing code. A code given twice counts once.
func TestRemovalAllOrNothing(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, e)
			for _, ods := range []string{"A20047", "B82005", "C81001"} {
				ep := &scheduling.Endpoint{ODS: ods, ServiceRoot: "http://127.0.0.1:9/" + ods + "/STU3/1/gpconnect", ASID: "918999198993", Enabled: true}
				if err := st.SaveEndpoint(ctx, ep); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := st.CreateHub(ctx, "pcn"); err != nil {
				t.Fatal(err)
			}
			if err := st.AddHubMembers(ctx, "pcn", []string{"A20047", "B82005", "C81001"}); err != nil {
				t.Fatal(err)
			}
			members := func() []string {
				t.Helper()
				h, err := st.HubByName(ctx, "pcn")
				if err != nil {
					t.Fatal(err)
				}
				return h.Members
			}
			directory := func() []string {
				t.Helper()
				eps, err := st.Endpoints(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var codes []string
				for _, e := range eps {
					codes = append(codes, e.ODS)
				}
				return codes
			}

			err := st.RemoveHubMembers(ctx, "pcn", []string{"A20047", "Y00077", "B82005", "Y99999"})
			wantErr(t, err, scheduling.ENOTFOUND, "member")
			if msg := scheduling.ErrorMessage(err); !strings.Contains(msg, "Y00077") || !strings.Contains(msg, "Y99999") || strings.Contains(msg, "A20047") {
				t.Fatalf("refusal %q should name Y00077 and Y99999 only", msg)
			}
			if got := members(); !reflect.DeepEqual(got, []string{"A20047", "B82005", "C81001"}) {
				t.Fatalf("a refused removal removed members: %v", got)
			}
			wantErr(t, st.RemoveHubMembers(ctx, "nope", []string{"A20047"}), scheduling.ENOTFOUND, "hub")
			if err := st.RemoveHubMembers(ctx, "pcn", []string{"C81001", "A20047", "C81001"}); err != nil {
				t.Fatal(err)
			}
			if got := members(); !reflect.DeepEqual(got, []string{"B82005"}) {
				t.Fatalf("members after removal: %v", got)
			}

			err = st.DeleteEndpoints(ctx, []string{"A20047", "Y00050"})
			wantErr(t, err, scheduling.ENOTFOUND, "endpoint")
			if msg := scheduling.ErrorMessage(err); !strings.Contains(msg, "Y00050") || strings.Contains(msg, "A20047") {
				t.Fatalf("refusal %q should name Y00050 only", msg)
			}
			if got := directory(); !reflect.DeepEqual(got, []string{"A20047", "B82005", "C81001"}) {
				t.Fatalf("a refused removal removed entries: %v", got)
			}
			if err := st.DeleteEndpoints(ctx, []string{"C81001", "A20047", "A20047"}); err != nil {
				t.Fatal(err)
			}
			if got := directory(); !reflect.DeepEqual(got, []string{"B82005"}) {
				t.Fatalf("directory after removal: %v", got)
			}
		})
	}
}
