package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
)

// Healthcare services (spec §5.10): the services a practice lists in the UEC
// Directory of Services. Sessions and templates link to one; with service
// filtering on, a consumer that found a service in DOS sees only its slots.

// HealthcareServices lists a practice's healthcare services by id.
func (s *Service) HealthcareServices(ctx context.Context, a Actor, ods string) ([]HealthcareService, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return nil, err
	}
	hs, err := s.st.HealthcareServices(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	linked, err := s.linkedTemplates(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	out := make([]HealthcareService, len(hs))
	for i := range hs {
		out[i] = toHealthcareService(&hs[i], linked)
	}
	return out, nil
}

// HealthcareService reads one healthcare service. Returns ENOTFOUND.
func (s *Service) HealthcareService(ctx context.Context, a Actor, ods string, id int64) (HealthcareService, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return HealthcareService{}, err
	}
	h, err := s.st.HealthcareService(ctx, org.ID, id)
	if err != nil {
		return HealthcareService{}, err
	}
	return s.withTemplates(ctx, org.ID, h)
}

// linkedTemplates maps each service id to the templates linked to it.
func (s *Service) linkedTemplates(ctx context.Context, practiceID int64) (map[int64][]int64, error) {
	ts, err := s.st.SessionTemplates(ctx, practiceID)
	if err != nil {
		return nil, err
	}
	m := map[int64][]int64{}
	for _, t := range ts {
		if t.HealthcareServiceID != 0 {
			m[t.HealthcareServiceID] = append(m[t.HealthcareServiceID], t.ID)
		}
	}
	return m, nil
}

// withTemplates is the view of a service with its linked templates, read after the change committed.
func (s *Service) withTemplates(ctx context.Context, practiceID int64, h *scheduling.HealthcareService) (HealthcareService, error) {
	linked, err := s.linkedTemplates(ctx, practiceID)
	if err != nil {
		return HealthcareService{}, err
	}
	return toHealthcareService(h, linked), nil
}

func toHealthcareService(h *scheduling.HealthcareService, linked map[int64][]int64) HealthcareService {
	ids := linked[h.ID]
	if ids == nil {
		ids = []int64{}
	}
	return HealthcareService{ID: h.ID, DOSID: h.DOSID, Name: h.Name, Version: h.Version, TemplateIDs: ids}
}

// applyService applies the input to h and checks it.
func applyService(h *scheduling.HealthcareService, in ServiceInput) error {
	if in.DOSID != nil {
		h.DOSID = strings.TrimSpace(*in.DOSID)
	}
	if in.Name != nil {
		h.Name = strings.TrimSpace(*in.Name)
	}
	return h.Validate()
}

// CreateHealthcareService adds a healthcare service under its DOS id.
// Errors: EINVALID, EDUPLICATE (the practice already lists the DOS id).
func (s *Service) CreateHealthcareService(ctx context.Context, a Actor, ods string, in ServiceInput) (HealthcareService, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return HealthcareService{}, err
	}
	h := &scheduling.HealthcareService{PracticeID: org.ID, Updated: s.Now()}
	if err := applyService(h, in); err != nil {
		return HealthcareService{}, err
	}
	var cur *scheduling.HealthcareService
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		id, err := tx.InsertHealthcareService(h)
		if err != nil {
			return nil, err
		}
		if cur, err = tx.HealthcareService(org.ID, id); err != nil {
			return nil, err
		}
		return s.record(org, a, "service.create", fmt.Sprintf("service/%d", id), nil, toServiceRecord(cur)), nil
	})
	if err != nil {
		return HealthcareService{}, err
	}
	return toHealthcareService(cur, nil), nil
}

// UpdateHealthcareService changes a service's DOS id and/or name; linked
// sessions follow at once, since they refer to it by id. Errors: ENOTFOUND,
// EINVALID, ESTALE (version given and not current), EDUPLICATE.
func (s *Service) UpdateHealthcareService(ctx context.Context, a Actor, ods string, id int64, in ServiceInput) (HealthcareService, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return HealthcareService{}, err
	}
	var after *scheduling.HealthcareService
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		cur, err := tx.HealthcareService(org.ID, id)
		if err != nil {
			return nil, err
		}
		if in.Version != nil && *in.Version != cur.Version {
			return nil, scheduling.Errorf(scheduling.ESTALE, "healthcare service %d is at version %d, not %d; read it again", id, cur.Version, *in.Version)
		}
		next := *cur
		if err := applyService(&next, in); err != nil {
			return nil, err
		}
		after = cur
		if next.DOSID == cur.DOSID && next.Name == cur.Name {
			return nil, nil
		}
		next.Updated = s.Now()
		if err := tx.UpdateHealthcareService(&next); err != nil {
			return nil, err
		}
		if after, err = tx.HealthcareService(org.ID, id); err != nil {
			return nil, err
		}
		return s.record(org, a, "service.update", fmt.Sprintf("service/%d", id), toServiceRecord(cur), toServiceRecord(after)), nil
	})
	if err != nil {
		return HealthcareService{}, err
	}
	return s.withTemplates(ctx, org.ID, after)
}

// DeleteHealthcareService removes a service nothing refers to. While any
// template, session or appointment does, it is refused (ECONFLICT, with the
// count): deleting it would leave them pointing at nothing, and appointments
// and past sessions keep their service for the record, so a service that was
// ever booked or offered stays (rename it instead). Errors: ENOTFOUND, ECONFLICT.
func (s *Service) DeleteHealthcareService(ctx context.Context, a Actor, ods string, id int64) (HealthcareService, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return HealthcareService{}, err
	}
	linked, err := s.linkedTemplates(ctx, org.ID)
	if err != nil {
		return HealthcareService{}, err
	}
	var out HealthcareService
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		// Locked first: a link being made now waits, so the count below sees it.
		cur, err := tx.LockHealthcareService(org.ID, id)
		if err != nil {
			return nil, err
		}
		n, err := tx.ServiceUses(id)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			hint := ""
			if l := linked[id]; len(l) > 0 {
				hint = fmt.Sprintf(" (templates %v among them)", l)
			}
			return nil, scheduling.Errorf(scheduling.ECONFLICT, "healthcare service %d (DOS id %s) is still referred to %d time(s) by templates, sessions and appointments%s; "+
				"link them to another service or none first (appointments and past sessions keep their service, so such a service can only be renamed)",
				id, cur.DOSID, n, hint)
		}
		if err := tx.DeleteHealthcareService(org.ID, id); err != nil {
			return nil, err
		}
		out = toHealthcareService(cur, nil)
		return s.record(org, a, "service.delete", fmt.Sprintf("service/%d", id), toServiceRecord(cur), nil), nil
	})
	return out, err
}
