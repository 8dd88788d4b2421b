package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

var _ scheduling.FederationStore = (*Store)(nil)

type endpointRow struct {
	ODS          string `db:"ods"`
	Name         string `db:"name"`
	ServiceRoot  string `db:"service_root"`
	ASID         string `db:"asid"`
	Interactions string `db:"interactions"`
	Enabled      bool   `db:"enabled"`
	Updated      int64  `db:"updated"`
}

const endpointCols = `ods, name, service_root, asid, interactions, enabled, updated`

func (r endpointRow) domain() *scheduling.Endpoint {
	return &scheduling.Endpoint{ODS: r.ODS, Name: r.Name, ServiceRoot: r.ServiceRoot, ASID: r.ASID,
		Interactions: splitList(r.Interactions), Enabled: r.Enabled, Updated: time.Unix(r.Updated, 0)}
}

// SaveEndpoint inserts or replaces the directory entry for e.ODS. Returns EINVALID for a bad entry.
func (s *Store) SaveEndpoint(ctx context.Context, e *scheduling.Endpoint) error {
	if err := scheduling.CheckEndpoint(e); err != nil {
		return err
	}
	return saveEndpoint(ctx, s.w, e, s.Now())
}

// saveEndpoint writes a checked entry through db (the pool or a transaction).
func saveEndpoint(ctx context.Context, db sqlx.ExtContext, e *scheduling.Endpoint, now time.Time) error {
	_, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO directory_endpoints (`+endpointCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (ods) DO UPDATE SET name = excluded.name, service_root = excluded.service_root, asid = excluded.asid,
		interactions = excluded.interactions, enabled = excluded.enabled, updated = excluded.updated`),
		e.ODS, e.Name, e.ServiceRoot, e.ASID, joinList(e.Interactions), e.Enabled, now.Unix())
	if err != nil {
		return fmt.Errorf("store: save endpoint %s: %w", e.ODS, err)
	}
	return nil
}

// ImportDirectory saves every entry and every hub (created when absent,
// members added to those it has) in one transaction, so an import that
// fails part-way changes nothing. Returns EINVALID for a bad entry, hub
// name or member.
func (s *Store) ImportDirectory(ctx context.Context, endpoints []*scheduling.Endpoint, hubs []*scheduling.Hub) error {
	for _, e := range endpoints {
		if err := scheduling.CheckEndpoint(e); err != nil {
			return err
		}
	}
	now := s.Now()
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, e := range endpoints {
			if err := saveEndpoint(ctx, tx, e, now); err != nil {
				return err
			}
		}
		for _, h := range hubs {
			// Checked here, after the entries are written, so that a refusal
			// is a rollback like any other failure.
			if err := scheduling.CheckHubName(h.Name); err != nil {
				return err
			}
			if err := checkMembers(h.Members); err != nil {
				return err
			}
			name := strings.TrimSpace(h.Name)
			var id int64
			err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM hubs WHERE name = ?`), name)
			if errors.Is(err, sql.ErrNoRows) {
				id, err = insertReturningID(ctx, tx, "hubs", 0, []string{"name", "created"}, name, now.Unix())
			}
			if err != nil {
				return fmt.Errorf("store: import hub %q: %w", name, err)
			}
			if err := addHubMembers(ctx, tx, id, h.Members, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// Endpoints lists every directory entry by ODS code.
func (s *Store) Endpoints(ctx context.Context) ([]*scheduling.Endpoint, error) {
	var rows []endpointRow
	if err := s.r.SelectContext(ctx, &rows, `SELECT `+endpointCols+` FROM directory_endpoints ORDER BY ods`); err != nil {
		return nil, fmt.Errorf("store: endpoints: %w", err)
	}
	out := make([]*scheduling.Endpoint, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// EndpointsByODS returns the entries known for the codes; unknown codes are absent from the map.
func (s *Store) EndpointsByODS(ctx context.Context, ods []string) (map[string]*scheduling.Endpoint, error) {
	out := make(map[string]*scheduling.Endpoint, len(ods))
	if len(ods) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT `+endpointCols+` FROM directory_endpoints WHERE ods IN (?)`, ods)
	if err != nil {
		return nil, err
	}
	var rows []endpointRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: endpoints: %w", err)
	}
	for _, r := range rows {
		out[r.ODS] = r.domain()
	}
	return out, nil
}

// CreateHub makes an empty hub. Returns EDUPLICATE if the name is taken, EINVALID if it is empty.
func (s *Store) CreateHub(ctx context.Context, name string) (*scheduling.Hub, error) {
	if err := scheduling.CheckHubName(name); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	now := s.Now()
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		id, err = insertReturningID(ctx, tx, "hubs", 0, []string{"name", "created"}, name, now.Unix())
		return err
	})
	if isUniqueViolation(err) {
		return nil, scheduling.Errorf(scheduling.EDUPLICATE, "a hub named %q already exists", name)
	}
	if err != nil {
		return nil, err
	}
	return &scheduling.Hub{ID: id, Name: name, Created: time.Unix(now.Unix(), 0)}, nil
}

type hubRow struct {
	ID      int64  `db:"id"`
	Name    string `db:"name"`
	Created int64  `db:"created"`
}

// HubByName reads a hub and its members. Returns ENOTFOUND (kind "hub").
func (s *Store) HubByName(ctx context.Context, name string) (*scheduling.Hub, error) {
	var r hubRow
	if err := s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT id, name, created FROM hubs WHERE name = ?`), name); err != nil {
		return nil, notFound(err, "hub", "no hub named %q", name)
	}
	h := &scheduling.Hub{ID: r.ID, Name: r.Name, Created: time.Unix(r.Created, 0)}
	if err := s.r.SelectContext(ctx, &h.Members, s.r.Rebind(`SELECT ods FROM hub_members WHERE hub_id = ? ORDER BY ods`), r.ID); err != nil {
		return nil, fmt.Errorf("store: hub members: %w", err)
	}
	return h, nil
}

// Hubs lists every hub with its members.
func (s *Store) Hubs(ctx context.Context) ([]*scheduling.Hub, error) {
	var rows []hubRow
	if err := s.r.SelectContext(ctx, &rows, `SELECT id, name, created FROM hubs ORDER BY name`); err != nil {
		return nil, fmt.Errorf("store: hubs: %w", err)
	}
	var members []struct {
		HubID int64  `db:"hub_id"`
		ODS   string `db:"ods"`
	}
	if err := s.r.SelectContext(ctx, &members, `SELECT hub_id, ods FROM hub_members ORDER BY hub_id, ods`); err != nil {
		return nil, fmt.Errorf("store: hub members: %w", err)
	}
	byID := map[int64]*scheduling.Hub{}
	out := make([]*scheduling.Hub, len(rows))
	for i, r := range rows {
		out[i] = &scheduling.Hub{ID: r.ID, Name: r.Name, Created: time.Unix(r.Created, 0)}
		byID[r.ID] = out[i]
	}
	for _, m := range members {
		if h := byID[m.HubID]; h != nil {
			h.Members = append(h.Members, m.ODS)
		}
	}
	return out, nil
}

// AddHubMembers adds practices to a hub (already-present ones are kept).
// Returns ENOTFOUND (kind "hub") and EINVALID for a malformed ODS code.
func (s *Store) AddHubMembers(ctx context.Context, hub string, ods []string) error {
	if err := checkMembers(ods); err != nil {
		return err
	}
	now := s.Now()
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM hubs WHERE name = ?`), hub); err != nil {
			return notFound(err, "hub", "no hub named %q", hub)
		}
		return addHubMembers(ctx, tx, id, ods, now)
	})
}

func checkMembers(ods []string) error {
	for _, o := range ods {
		if !scheduling.ValidODSCode(o) {
			return scheduling.Errorf(scheduling.EINVALID, "%q is not an ODS code", o)
		}
	}
	return nil
}

// addHubMembers adds checked codes to hub id, in code order so that two
// transactions adding to one hub take their row locks in the same order.
func addHubMembers(ctx context.Context, tx *sqlx.Tx, id int64, ods []string, now time.Time) error {
	sorted := append([]string(nil), ods...)
	sort.Strings(sorted)
	for _, o := range sorted {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO hub_members (hub_id, ods, added) VALUES (?, ?, ?) ON CONFLICT (hub_id, ods) DO NOTHING`), id, o, now.Unix()); err != nil {
			return fmt.Errorf("store: add hub member: %w", err)
		}
	}
	return nil
}

// RemoveHubMembers removes practices from a hub, all of them or none: one
// transaction, so that a mistyped code does not leave the others removed
// (as AddHubMembers and ImportDirectory refuse as a whole). A code given
// twice is removed once. Returns ENOTFOUND (kind "hub", or kind "member"
// naming every code that is not a member).
func (s *Store) RemoveHubMembers(ctx context.Context, hub string, ods []string) error {
	codes := uniqueSorted(ods)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM hubs WHERE name = ?`), hub); err != nil {
			return notFound(err, "hub", "no hub named %q", hub)
		}
		// Deleting row by row says which codes were not there; in code
		// order, so that two removals take their row locks in one order.
		var missing []string
		for _, o := range codes {
			res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM hub_members WHERE hub_id = ? AND ods = ?`), id, o)
			if err != nil {
				return fmt.Errorf("store: remove hub member: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				missing = append(missing, o)
			}
		}
		if len(missing) > 0 {
			return scheduling.NotFound("member", "%s of hub %q%s", isAre(missing, "not a member", "not members"), hub, noneRemoved(codes))
		}
		return nil
	})
}

// DeleteEndpoints removes practices' directory entries, all of them or
// none, in one transaction. Hubs keep them as members, reported as unknown
// by their searches until they are entered again. A code given twice is
// removed once. Returns ENOTFOUND (kind "endpoint", naming every code not
// in the directory).
func (s *Store) DeleteEndpoints(ctx context.Context, ods []string) error {
	codes := uniqueSorted(ods)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var missing []string
		for _, o := range codes {
			res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM directory_endpoints WHERE ods = ?`), o)
			if err != nil {
				return fmt.Errorf("store: delete endpoint %s: %w", o, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				missing = append(missing, o)
			}
		}
		if len(missing) > 0 {
			return scheduling.NotFound("endpoint", "%s in the endpoint directory%s", isAre(missing, "not", "not"), noneRemoved(codes))
		}
		return nil
	})
}

// uniqueSorted is the distinct codes in order.
func uniqueSorted(codes []string) []string {
	out := append([]string(nil), codes...)
	sort.Strings(out)
	return slices.Compact(out)
}

// isAre writes "X is one" or "X, Y are many".
func isAre(codes []string, one, many string) string {
	if len(codes) == 1 {
		return codes[0] + " is " + one
	}
	return strings.Join(codes, ", ") + " are " + many
}

// noneRemoved tells a caller who named several codes that the refusal
// covers all of them; with one code it goes without saying.
func noneRemoved(codes []string) string {
	if len(codes) > 1 {
		return "; nothing was removed"
	}
	return ""
}

// DeleteHub removes a hub and its member list (the directory is left as
// it is). Returns ENOTFOUND (kind "hub").
func (s *Store) DeleteHub(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM hubs WHERE name = ?`), name); err != nil {
			return notFound(err, "hub", "no hub named %q", name)
		}
		// Members go first, whether or not the engine enforces the cascade.
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM hub_members WHERE hub_id = ?`), id); err != nil {
			return fmt.Errorf("store: delete hub members: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM hubs WHERE id = ?`), id); err != nil {
			return fmt.Errorf("store: delete hub: %w", err)
		}
		return nil
	})
}
