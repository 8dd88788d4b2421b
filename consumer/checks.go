package consumer

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// checkIdentity reports, all at once, what in cfg would put a token on the
// wire that GP Connect does not allow (spec §3.2, §8.4). auth.Mint checks
// only what a provider must refuse; a provider has to tolerate a bare
// requesting_device or the legacy ODS system, but a consumer must not rely
// on that. A missing role-profile or local user identifier, or a missing
// given name, stays allowed: providers must accept them.
func checkIdentity(cfg Config) error {
	var probs []string
	if u, err := url.Parse(cfg.Issuer); err != nil || !u.IsAbs() || strings.ContainsFunc(cfg.Issuer, unicode.IsSpace) {
		probs = append(probs, fmt.Sprintf("Issuer %q (the JWT iss) is not an absolute URI such as https://consumer.example.nhs.uk/", cfg.Issuer))
	}
	d := cfg.Device
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	if len(d.Identifier) == 0 || blank(d.Identifier[0].System) {
		probs = append(probs, "Device (requesting_device) lacks identifier[0].system")
	}
	if len(d.Identifier) == 0 || blank(d.Identifier[0].Value) {
		probs = append(probs, "Device (requesting_device) lacks identifier[0].value")
	}
	if blank(d.Model) {
		probs = append(probs, "Device (requesting_device) lacks model (the product name)")
	}
	if blank(d.Version) {
		probs = append(probs, "Device (requesting_device) lacks version")
	}
	for _, id := range cfg.Organization.Identifier {
		if id.System == gpconnect.SystemODSOrganisationOld {
			probs = append(probs, fmt.Sprintf("Organization (requesting_organization) uses the legacy ODS system %s, which providers accept only for old consumers; send %s",
				gpconnect.SystemODSOrganisationOld, gpconnect.SystemODSOrganisation))
			break
		}
	}
	if len(probs) > 0 {
		return errors.New("consumer: " + strings.Join(probs, "; ") + " (spec §3.2)")
	}
	return nil
}
