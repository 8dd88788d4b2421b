package consumer_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// TestNewBookingOrgTypeFollowsSearch: the contained organisation's type is
// the org-type searchFilter the slot was found with (spec §6.2, §13.8).
func TestNewBookingOrgTypeFollowsSearch(t *testing.T) {
	bundle := `{"resourceType":"Bundle","type":"searchset","entry":[` +
		`{"resource":{"resourceType":"Schedule","id":"s1","actor":[{"reference":"Location/1"}]}},` +
		`{"resource":{"resourceType":"Slot","id":"3","schedule":{"reference":"Schedule/s1"},"status":"free","start":"2030-06-03T09:00:00+01:00","end":"2030-06-03T09:10:00+01:00"}}]}`
	srv := httptest.NewServer(answer(200, fhirJSON, bundle))
	t.Cleanup(srv.Close)
	c := newClient(t, testConfig(srv.URL+"/A20047/STU3/1/gpconnect", leggASID))
	search := func(t *testing.T, q consumer.SlotQuery) *consumer.SlotResult {
		t.Helper()
		q.Start = time.Date(2030, 6, 3, 0, 0, 0, 0, time.UTC)
		q.End = q.Start.AddDate(0, 0, 1)
		res, err := c.SearchSlots(context.Background(), q)
		if err != nil || len(res.Slots) != 1 {
			t.Fatalf("search: %v", err)
		}
		return res
	}
	orgType := func(a *fhir.Appointment) string {
		org := a.Contained[0].(*fhir.Organization)
		if len(org.Type) == 0 {
			return ""
		}
		return org.Type[0].Coding[0].Code
	}
	bk := func(ot gpconnect.OrganisationType) consumer.Booking {
		return consumer.Booking{PatientID: "2", Description: "d", Org: consumer.BookingOrg{ODS: "Y90001", Name: "Hub", Phone: "1", OrgType: ot}}
	}

	t.Run("DefaultsToFilter", func(t *testing.T) {
		res := search(t, consumer.SlotQuery{ODS: "Y90001", OrgType: gpconnect.OrgTypeUrgentCare})
		a, err := res.NewBooking(res.Slots, bk(""))
		if err != nil || orgType(a) != "urgent-care" {
			t.Fatalf("org type %q, err %v; want urgent-care", orgType(a), err)
		}
	})
	t.Run("SameAsFilter", func(t *testing.T) {
		res := search(t, consumer.SlotQuery{OrgType: gpconnect.OrgTypeUrgentCare})
		a, err := res.NewBooking(res.Slots, bk(gpconnect.OrgTypeUrgentCare))
		if err != nil || orgType(a) != "urgent-care" {
			t.Fatalf("org type %q, err %v; want urgent-care", orgType(a), err)
		}
	})
	t.Run("ErrOtherThanFilter", func(t *testing.T) {
		res := search(t, consumer.SlotQuery{OrgType: gpconnect.OrgTypeUrgentCare})
		_, err := res.NewBooking(res.Slots, bk(gpconnect.OrgTypeGPPractice))
		if !errors.Is(err, consumer.ErrOrgType) {
			t.Fatalf("err = %v, want ErrOrgType", err)
		}
	})
	t.Run("ErrNoFilterSent", func(t *testing.T) {
		res := search(t, consumer.SlotQuery{ODS: "Y90001"})
		_, err := res.NewBooking(res.Slots, bk(gpconnect.OrgTypeGPPractice))
		if !errors.Is(err, consumer.ErrOrgType) {
			t.Fatalf("err = %v, want ErrOrgType", err)
		}
	})
	t.Run("NoFilterNoType", func(t *testing.T) {
		res := search(t, consumer.SlotQuery{})
		a, err := res.NewBooking(res.Slots, bk(""))
		if err != nil || orgType(a) != "" {
			t.Fatalf("org type %q, err %v; want none", orgType(a), err)
		}
	})
}
