package scheduling

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Endpoint is one entry of the endpoint directory: where a practice's GP
// Connect service root is and which provider ASID answers there, as an SDS
// MHS + AS lookup would say (spec §1.2).
type Endpoint struct {
	// ODS is the practice's ODS code (the key).
	ODS string
	// Name is a display name for hub staff; optional.
	Name string
	// ServiceRoot is the FHIR service root URL, used exactly as given (no trailing /).
	ServiceRoot string
	// ASID is the provider ASID sent in Ssp-To.
	ASID string
	// Interactions lists the interaction IDs the endpoint supports; empty means all.
	Interactions []string
	// Enabled is false when the hub has switched the practice off locally.
	Enabled bool
	// Updated is when the entry last changed.
	Updated time.Time
}

// Supports reports whether the endpoint offers the interaction (an empty list offers all).
func (e *Endpoint) Supports(interaction string) bool {
	if len(e.Interactions) == 0 {
		return true
	}
	for _, i := range e.Interactions {
		if i == interaction {
			return true
		}
	}
	return false
}

// Hub is a federation or PCN: a named set of member practices.
type Hub struct {
	ID   int64
	Name string
	// Members are the member practices' ODS codes, sorted.
	Members []string
	Created time.Time
}

// FederationStore keeps the endpoint directory and the hubs.
type FederationStore interface {
	// SaveEndpoint inserts or replaces the directory entry for e.ODS. Returns EINVALID for a bad entry.
	SaveEndpoint(ctx context.Context, e *Endpoint) error
	// Endpoints lists every directory entry by ODS code.
	Endpoints(ctx context.Context) ([]*Endpoint, error)
	// EndpointsByODS returns the entries known for the codes; unknown codes are absent from the map.
	EndpointsByODS(ctx context.Context, ods []string) (map[string]*Endpoint, error)
	// CreateHub makes an empty hub. Returns EDUPLICATE if the name is taken, EINVALID if it is empty.
	CreateHub(ctx context.Context, name string) (*Hub, error)
	// HubByName reads a hub and its members. Returns ENOTFOUND (kind "hub").
	HubByName(ctx context.Context, name string) (*Hub, error)
	// Hubs lists every hub with its members.
	Hubs(ctx context.Context) ([]*Hub, error)
	// AddHubMembers adds practices to a hub (already-present ones are kept). Returns ENOTFOUND (kind "hub").
	AddHubMembers(ctx context.Context, hub string, ods []string) error
	// RemoveHubMembers removes practices from a hub, all or none. Returns ENOTFOUND (kind "hub", or "member" naming each non-member).
	RemoveHubMembers(ctx context.Context, hub string, ods []string) error
	// DeleteEndpoints removes directory entries, all or none (hubs keep the practices as members). Returns ENOTFOUND (kind "endpoint").
	DeleteEndpoints(ctx context.Context, ods []string) error
	// DeleteHub removes a hub and its member list. Returns ENOTFOUND (kind "hub").
	DeleteHub(ctx context.Context, name string) error
	// ImportDirectory saves the entries and hubs (created when absent, members added) all or nothing. Returns EINVALID.
	ImportDirectory(ctx context.Context, endpoints []*Endpoint, hubs []*Hub) error
}

var odsPattern = regexp.MustCompile(`^[A-Z0-9]{3,10}$`)

// CheckHubName returns EINVALID unless name (trimmed) can name a hub: not
// empty, no / ? or # (it is a path segment), no control character.
func CheckHubName(name string) error {
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, "/?#") || !PlainText(name) {
		return Errorf(EINVALID, "hub name must be non-empty, with no / ? or # and no control character")
	}
	return nil
}

// ValidODSCode reports whether s has the shape of an ODS organisation code
// (3 to 10 upper-case letters and digits; real codes are 3, 5 or 6 long).
func ValidODSCode(s string) bool { return odsPattern.MatchString(s) }

// PlainText reports whether s is UTF-8 with no control character (C0 or
// DEL) and neither of the noncharacters U+FFFE and U+FFFF: no name, code
// or URL holds one, PostgreSQL text cannot even store a NUL or bytes that
// are not UTF-8, and XML can carry none of them.
func PlainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0xFFFE || r == 0xFFFF })
}

// Unsafe reports whether r acts rather than shows where people read text
// (a name in a list, a terminal): a control character, C0 or C1, or an
// invisible character that reorders or hides text (a bidirectional
// control such as U+202E, or U+FEFF), or a noncharacter (U+FFFE, U+FFFF)
// that XML answers could not carry. Joiners and soft hyphens, which
// scripts and emoji need, are not unsafe.
func Unsafe(r rune) bool {
	switch {
	case unicode.IsControl(r), r == 0xFEFF, r == 0x061C, r == 0x200E, r == 0x200F, r == 0xFFFE, r == 0xFFFF,
		r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// CheckEndpoint reports every problem with a directory entry at once (EINVALID), or nil.
func CheckEndpoint(e *Endpoint) error {
	var probs []string
	if !PlainText(e.Name) || !PlainText(e.ServiceRoot) || !PlainText(e.ASID) ||
		slices.ContainsFunc(e.Interactions, func(i string) bool { return !PlainText(i) }) {
		return Errorf(EINVALID, "directory entry %q: a field holds a control character or is not UTF-8", e.ODS)
	}
	if !ValidODSCode(e.ODS) {
		probs = append(probs, "ODS code must be 3-10 upper-case letters and digits")
	}
	if !strings.HasPrefix(e.ServiceRoot, "http://") && !strings.HasPrefix(e.ServiceRoot, "https://") {
		probs = append(probs, "service root must be an http(s) URL")
	} else if strings.HasSuffix(e.ServiceRoot, "/") {
		probs = append(probs, "service root must not end in /")
	} else if u, err := url.Parse(e.ServiceRoot); err != nil || u.Host == "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		// A query or fragment would swallow the interaction's path
		// (…?x=1 + /Slot), and credentials would be shown wherever the
		// directory is listed.
		probs = append(probs, "service root must be a plain URL: a host and a path, with no query, fragment or user name")
	} else if ValidODSCode(e.ODS) && !strings.Contains(e.ServiceRoot+"/", "/"+e.ODS+"/STU3/") {
		// Spec §1.1: the root is .../{ODS}/STU3/1/..., the practice's own
		// code; another practice's root would book there under this name.
		probs = append(probs, "service root must name the practice: .../"+e.ODS+"/STU3/1/gpconnect")
	}
	// Spine ASIDs are numbers (the demo's 918999198993); a word here is a
	// mistake that would otherwise surface as every call refused by the SSP.
	if e.ASID == "" || len(e.ASID) > 20 || strings.ContainsFunc(e.ASID, func(r rune) bool { return r < '0' || r > '9' }) {
		probs = append(probs, "ASID must be a number of up to 20 digits")
	}
	for _, i := range e.Interactions {
		if !strings.HasPrefix(i, "urn:nhs:names:services:gpconnect:") || strings.Contains(i, ",") {
			probs = append(probs, "interaction "+i+" is not a GP Connect interaction URN")
		}
	}
	if len(probs) > 0 {
		return Errorf(EINVALID, "directory entry %q: %s", e.ODS, strings.Join(probs, "; "))
	}
	return nil
}
