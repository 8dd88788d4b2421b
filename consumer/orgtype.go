package consumer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// ErrOrgType is returned by NewBooking for a booking organisation type
// other than the org-type searchFilter the slots were found with: the
// provider decides which slots an organisation type may book, so a booking
// must claim the type it searched as, or none if it sent none (spec §6.2,
// §13.8), or it is refused with 422.
var ErrOrgType = errors.New("consumer: the booking organisation type must be the org-type searchFilter of the slot search")

// orgTypeFilters lists the organisation types q sent as searchFilters.
func (q *SlotQuery) orgTypeFilters() []gpconnect.OrganisationType {
	var out []gpconnect.OrganisationType
	add := func(t gpconnect.OrganisationType) {
		for _, x := range out {
			if x == t {
				return
			}
		}
		out = append(out, t)
	}
	if q.OrgType != "" {
		add(q.OrgType)
	}
	for _, f := range q.ExtraFilters {
		if code, ok := strings.CutPrefix(f, gpconnect.SystemOrganisationType+"|"); ok && code != "" {
			add(gpconnect.OrganisationType(code))
		}
	}
	return out
}

// bookingOrgType is the contained organisation's type for a booking from
// r: given, or the search's org-type filter when given is empty. Without
// the query (a result built by NewSlotResult) given is trusted as it is.
func (r *SlotResult) bookingOrgType(given gpconnect.OrganisationType) (gpconnect.OrganisationType, error) {
	if r.Query == nil {
		return given, nil
	}
	sent := r.Query.orgTypeFilters()
	switch {
	case given == "" && len(sent) == 1:
		return sent[0], nil
	case given == "" && len(sent) == 0:
		return "", nil
	case given == "":
		return "", fmt.Errorf("%w: the search sent %d org-type filters (%v); name one in BookingOrg.OrgType", ErrOrgType, len(sent), sent)
	}
	for _, t := range sent {
		if t == given {
			return given, nil
		}
	}
	if len(sent) == 0 {
		return "", fmt.Errorf("%w: BookingOrg.OrgType is %q but the search sent no org-type filter; leave it empty or search with it", ErrOrgType, given)
	}
	return "", fmt.Errorf("%w: BookingOrg.OrgType is %q but the search filtered by %v", ErrOrgType, given, sent)
}
