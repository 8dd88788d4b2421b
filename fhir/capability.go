package fhir

// CapabilityStatement is STU3 CapabilityStatement (the parts a server uses).
type CapabilityStatement struct {
	ResourceType  string              `json:"resourceType"`
	ID            string              `json:"id,omitempty"`
	Meta          *Meta               `json:"meta,omitempty"`
	Extension     []Extension         `json:"extension,omitempty"`
	URL           string              `json:"url,omitempty"`
	Version       string              `json:"version,omitempty"`
	Name          string              `json:"name,omitempty"`
	Status        string              `json:"status"`
	Date          string              `json:"date"`
	Publisher     string              `json:"publisher,omitempty"`
	Contact       []ContactDetail     `json:"contact,omitempty"`
	Description   string              `json:"description,omitempty"`
	Copyright     string              `json:"copyright,omitempty"`
	Kind          string              `json:"kind"`
	Software      *CapabilitySoftware `json:"software,omitempty"`
	FHIRVersion   string              `json:"fhirVersion"`
	AcceptUnknown string              `json:"acceptUnknown"`
	Format        []string            `json:"format"`
	Profile       []Reference         `json:"profile,omitempty"`
	Rest          []CapabilityRest    `json:"rest,omitempty"`
}

// ContactDetail is STU3 ContactDetail.
type ContactDetail struct {
	Name    string         `json:"name,omitempty"`
	Telecom []ContactPoint `json:"telecom,omitempty"`
}

// CapabilitySoftware is STU3 CapabilityStatement.software.
type CapabilitySoftware struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	ReleaseDate string `json:"releaseDate,omitempty"`
}

// CapabilityRest is STU3 CapabilityStatement.rest.
type CapabilityRest struct {
	Extension []Extension           `json:"extension,omitempty"`
	Mode      string                `json:"mode"`
	Security  *CapabilitySecurity   `json:"security,omitempty"`
	Resource  []CapabilityResource  `json:"resource,omitempty"`
	Operation []CapabilityOperation `json:"operation,omitempty"`
}

// CapabilitySecurity is STU3 CapabilityStatement.rest.security.
type CapabilitySecurity struct {
	CORS *bool `json:"cors,omitempty"`
}

// CapabilityResource is STU3 CapabilityStatement.rest.resource.
type CapabilityResource struct {
	Type          string                  `json:"type"`
	Profile       *Reference              `json:"profile,omitempty"`
	Interaction   []CapabilityInteraction `json:"interaction"`
	UpdateCreate  *bool                   `json:"updateCreate,omitempty"`
	SearchInclude []string                `json:"searchInclude,omitempty"`
	SearchParam   []CapabilitySearchParam `json:"searchParam,omitempty"`
}

// CapabilityInteraction is STU3 CapabilityStatement.rest.resource.interaction.
type CapabilityInteraction struct {
	Code string `json:"code"`
}

// CapabilitySearchParam is STU3 CapabilityStatement.rest.resource.searchParam.
type CapabilitySearchParam struct {
	Name          string `json:"name"`
	Definition    string `json:"definition,omitempty"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

// CapabilityOperation is STU3 CapabilityStatement.rest.operation.
type CapabilityOperation struct {
	Name       string    `json:"name"`
	Definition Reference `json:"definition"`
}

// GetResourceType implements Resource.
func (*CapabilityStatement) GetResourceType() string { return "CapabilityStatement" }
