package fhirtest

import (


	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
)

func Validate(data []byte) error {
	u, err := jsonformat.NewUnmarshaller("Europe/London", fhirversion.STU3)
	if err != nil {
		return err
	}
	m, err := u.Unmarshal(data)
	_ = m
	return err
}
