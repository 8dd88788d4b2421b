package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ResourceList is a polymorphic list of resources (e.g. contained).
type ResourceList []Resource

// NewResource returns a new empty value for a known resource type, or nil.
func NewResource(resourceType string) Resource {
	switch resourceType {
	case "Slot":
		return &Slot{}
	case "Schedule":
		return &Schedule{}
	case "Appointment":
		return &Appointment{}
	case "Organization":
		return &Organization{}
	case "Practitioner":
		return &Practitioner{}
	case "Location":
		return &Location{}
	case "Patient":
		return &Patient{}
	case "Device":
		return &Device{}
	case "Parameters":
		return &Parameters{}
	case "HealthcareService":
		return &HealthcareService{}
	case "Bundle":
		return &Bundle{}
	case "OperationOutcome":
		return &OperationOutcome{}
	case "CapabilityStatement":
		return &CapabilityStatement{}
	}
	return nil
}

// ErrNotResource reports JSON that is not an object with a resourceType.
var ErrNotResource = errors.New("fhir: not a resource: missing resourceType")

// PeekResourceType reads the resourceType of a JSON object without decoding the rest.
func PeekResourceType(data []byte) (string, error) {
	var head struct {
		ResourceType *string `json:"resourceType"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", err
	}
	if head.ResourceType == nil || *head.ResourceType == "" {
		return "", ErrNotResource
	}
	return *head.ResourceType, nil
}

// UnmarshalResource decodes any resource by its resourceType. Types this
// package has no struct for come back as *RawResource.
func UnmarshalResource(data []byte) (Resource, error) {
	rt, err := PeekResourceType(data)
	if err != nil {
		return nil, err
	}
	r := NewResource(rt)
	if r == nil {
		return &RawResource{Type: rt, JSON: append(json.RawMessage(nil), data...)}, nil
	}
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("fhir: %s: %w", rt, err)
	}
	return r, nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (l *ResourceList) UnmarshalJSON(data []byte) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return err
	}
	out := make(ResourceList, 0, len(raws))
	for _, raw := range raws {
		r, err := UnmarshalResource(raw)
		if err != nil {
			return err
		}
		out = append(out, r)
	}
	*l = out
	return nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (e *BundleEntry) UnmarshalJSON(data []byte) error {
	var raw struct {
		FullURL  string             `json:"fullUrl"`
		Resource json.RawMessage    `json:"resource"`
		Search   *BundleEntrySearch `json:"search"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	e.FullURL, e.Search, e.Resource = raw.FullURL, raw.Search, nil
	if len(raw.Resource) > 0 && !bytes.Equal(bytes.TrimSpace(raw.Resource), []byte("null")) {
		r, err := UnmarshalResource(raw.Resource)
		if err != nil {
			return err
		}
		e.Resource = r
	}
	return nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *ParametersParameter) UnmarshalJSON(data []byte) error {
	type plain ParametersParameter
	var raw struct {
		plain
		Resource json.RawMessage `json:"resource"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*p = ParametersParameter(raw.plain)
	p.Resource = nil
	if len(raw.Resource) > 0 && !bytes.Equal(bytes.TrimSpace(raw.Resource), []byte("null")) {
		r, err := UnmarshalResource(raw.Resource)
		if err != nil {
			return err
		}
		p.Resource = r
	}
	return nil
}

// DecodeJSON decodes a request body that must be a resource of type want.
// It returns the decoded resource; a body of another type is an error that
// names the type found.
func DecodeJSON(data []byte, want string) (Resource, error) {
	rt, err := PeekResourceType(data)
	if err != nil {
		return nil, err
	}
	if rt != want {
		return nil, fmt.Errorf("fhir: expected %s, got %s", want, rt)
	}
	return UnmarshalResource(data)
}
