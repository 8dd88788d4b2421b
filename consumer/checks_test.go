package consumer_test

import (
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

func TestNewRefusesIncompleteIdentity(t *testing.T) {
	good := testConfig("https://provider.example/A20047/STU3/1/gpconnect", leggASID)
	for name, tc := range map[string]struct {
		edit func(*consumer.Config)
		want string // a word the error must contain, naming the field
	}{
		"NoDevice":       {func(c *consumer.Config) { c.Device = fhir.Device{} }, "identifier[0].system"},
		"DeviceNoSystem": {func(c *consumer.Config) { c.Device.Identifier = []fhir.Identifier{{Value: "APP-01"}} }, "identifier[0].system"},
		"DeviceNoValue": {func(c *consumer.Config) {
			c.Device.Identifier = []fhir.Identifier{{System: "https://c.example/Id/device"}}
		}, "identifier[0].value"},
		"DeviceNoModel":   {func(c *consumer.Config) { c.Device.Model = "" }, "model"},
		"DeviceNoVersion": {func(c *consumer.Config) { c.Device.Version = " " }, "version"},
		"IssuerWords":     {func(c *consumer.Config) { c.Issuer = "just words" }, "Issuer"},
		"IssuerRelative":  {func(c *consumer.Config) { c.Issuer = "/consumer" }, "Issuer"},
		"IssuerEmpty":     {func(c *consumer.Config) { c.Issuer = "" }, "Issuer"},
		"LegacyODSSystem": {func(c *consumer.Config) {
			c.Organization.Identifier = []fhir.Identifier{{System: gpconnect.SystemODSOrganisationOld, Value: "A20047"}}
		}, "legacy ODS system"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			cfg.Device.Identifier = append([]fhir.Identifier(nil), good.Device.Identifier...)
			tc.edit(&cfg)
			_, err := consumer.New(cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
	// Providers must accept a practitioner without the role-profile and
	// local identifiers or a given name, so the client must not refuse one.
	for name, edit := range map[string]func(*consumer.Config){
		"SDSUserIDOnly": func(c *consumer.Config) {
			c.Practitioner.Identifier = []fhir.Identifier{{System: gpconnect.SystemSDSUser, Value: "UNK"}}
		},
		"NoGivenName": func(c *consumer.Config) {
			c.Practitioner.Name = []fhir.HumanName{{Family: "Smith"}}
		},
		"URNIssuer": func(c *consumer.Config) { c.Issuer = "urn:uuid:6c3f0a0e-1d0b-4c6e-9a55-3c1f7f0a2b11" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			edit(&cfg)
			if _, err := consumer.New(cfg); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}
