package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// DirectoryFile is the JSON document `slotbridge directory import` reads and
// `slotbridge sim` writes: directory entries and, optionally, hubs.
type DirectoryFile struct {
	// Endpoints are the directory entries.
	Endpoints []DirectoryEntry `json:"endpoints"`
	// Hubs optionally creates hubs (if absent) and adds these members.
	Hubs []DirectoryHub `json:"hubs,omitempty"`
}

// DirectoryEntry is one endpoint in a directory file.
type DirectoryEntry struct {
	ODS          string   `json:"ods"`
	Name         string   `json:"name,omitempty"`
	ServiceRoot  string   `json:"serviceRoot"`
	ASID         string   `json:"asid"`
	Interactions []string `json:"interactions,omitempty"`
	// Enabled defaults to true when absent.
	Enabled *bool `json:"enabled,omitempty"`
}

// DirectoryHub is one hub in a directory file.
type DirectoryHub struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// ReadDirectoryFile parses a directory file, refusing unknown fields so a
// typo does not silently drop data, and checks every entry (all problems at once).
func ReadDirectoryFile(path string) (*DirectoryFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f DirectoryFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// Check reports every problem of the file at once (EINVALID): a bad entry,
// an ODS code listed twice (the later entry would silently win), a bad hub
// name or member. Import runs it before it writes anything, so a file with a
// mistake changes nothing.
func (f *DirectoryFile) Check() error {
	var probs []string
	seen := map[string]bool{}
	for _, e := range f.Endpoints {
		if err := scheduling.CheckEndpoint(e.Endpoint()); err != nil {
			probs = append(probs, scheduling.ErrorMessage(err))
		}
		if seen[e.ODS] {
			probs = append(probs, fmt.Sprintf("%s is listed twice", e.ODS))
		}
		seen[e.ODS] = true
	}
	for _, h := range f.Hubs {
		if err := scheduling.CheckHubName(h.Name); err != nil {
			probs = append(probs, fmt.Sprintf("hub %q: %s", h.Name, scheduling.ErrorMessage(err)))
		}
		for _, m := range h.Members {
			if !scheduling.ValidODSCode(m) {
				probs = append(probs, fmt.Sprintf("hub %q: %q is not an ODS code", h.Name, m))
			}
		}
	}
	if len(probs) > 0 {
		return scheduling.Errorf(scheduling.EINVALID, "%d problems, nothing imported: %s", len(probs), strings.Join(probs, "; "))
	}
	return nil
}

// Endpoint converts the entry to a directory endpoint.
func (e DirectoryEntry) Endpoint() *scheduling.Endpoint {
	en := e.Enabled == nil || *e.Enabled
	return &scheduling.Endpoint{ODS: e.ODS, Name: e.Name, ServiceRoot: e.ServiceRoot, ASID: e.ASID, Interactions: e.Interactions, Enabled: en}
}

// Import saves every entry and hub of the file (hubs are created when
// absent), after checking all of it (Check), in one transaction: a file with
// a mistake, or an import that fails part-way, changes nothing. Returns how
// many endpoints and hubs were saved.
func Import(ctx context.Context, st scheduling.FederationStore, f *DirectoryFile) (int, int, error) {
	if err := f.Check(); err != nil {
		return 0, 0, err
	}
	eps := make([]*scheduling.Endpoint, len(f.Endpoints))
	for i, e := range f.Endpoints {
		eps[i] = e.Endpoint()
	}
	hubs := make([]*scheduling.Hub, len(f.Hubs))
	for i, h := range f.Hubs {
		hubs[i] = &scheduling.Hub{Name: h.Name, Members: h.Members}
	}
	if err := st.ImportDirectory(ctx, eps, hubs); err != nil {
		return 0, 0, err
	}
	return len(f.Endpoints), len(f.Hubs), nil
}

// StaticDirectory is a Directory held in memory, built from a directory
// file: for benchmarks and tools that run without a database.
type StaticDirectory struct {
	endpoints map[string]*scheduling.Endpoint
	hubs      map[string]*scheduling.Hub
}

// NewStaticDirectory indexes the file's endpoints and hubs.
func NewStaticDirectory(f *DirectoryFile) *StaticDirectory {
	d := &StaticDirectory{endpoints: map[string]*scheduling.Endpoint{}, hubs: map[string]*scheduling.Hub{}}
	for _, e := range f.Endpoints {
		d.endpoints[e.ODS] = e.Endpoint()
	}
	for _, h := range f.Hubs {
		d.hubs[h.Name] = &scheduling.Hub{Name: h.Name, Members: append([]string(nil), h.Members...)}
	}
	return d
}

// EndpointsByODS implements Directory.
func (d *StaticDirectory) EndpointsByODS(_ context.Context, ods []string) (map[string]*scheduling.Endpoint, error) {
	out := make(map[string]*scheduling.Endpoint, len(ods))
	for _, o := range ods {
		if e := d.endpoints[o]; e != nil {
			out[o] = e
		}
	}
	return out, nil
}

// HubByName implements Directory. Returns ENOTFOUND (kind "hub").
func (d *StaticDirectory) HubByName(_ context.Context, name string) (*scheduling.Hub, error) {
	if h := d.hubs[name]; h != nil {
		return h, nil
	}
	return nil, scheduling.NotFound("hub", "no hub named %q", name)
}
