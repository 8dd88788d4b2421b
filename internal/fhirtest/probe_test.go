package fhirtest

import (
	"testing"
)

const slotHead = `{"resourceType":"Slot","id":"1","schedule":{"reference":"Schedule/1"},"status":"free","start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:10:00+00:00"`

func TestProbe(t *testing.T) {
	cases := map[string]string{
		"ok":               slotHead + `}`,
		"emptyArray":       slotHead + `,"serviceType":[]}`,
		"emptyString":      slotHead + `,"comment":""}`,
		"nullValue":        slotHead + `,"comment":null}`,
		"noStatus":         `{"resourceType":"Slot","id":"1","schedule":{"reference":"Schedule/1"},"start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:10:00+00:00"}`,
		"wrongRefType":     `{"resourceType":"Slot","id":"1","schedule":{"reference":"Practitioner/1"},"status":"free","start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:10:00+00:00"}`,
		"noTZ":             `{"resourceType":"Slot","id":"1","schedule":{"reference":"Schedule/1"},"status":"free","start":"2024-01-01T09:00:00","end":"2024-01-01T09:10:00+00:00"}`,
		"Z":                `{"resourceType":"Slot","id":"1","schedule":{"reference":"Schedule/1"},"status":"free","start":"2024-01-01T09:00:00Z","end":"2024-01-01T09:10:00Z"}`,
		"badID":            `{"resourceType":"Slot","id":"a_b","schedule":{"reference":"Schedule/1"},"status":"free","start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:10:00+00:00"}`,
		"extNoValue":       slotHead + `,"extension":[{"url":"http://x"}]}`,
		"extNoURL":         slotHead + `,"extension":[{"valueCode":"x"}]}`,
		"extTwoValues":     slotHead + `,"extension":[{"url":"http://x","valueCode":"x","valueString":"y"}]}`,
		"containedSlot":    slotHead + `,"contained":[{"resourceType":"Organization","id":"o","name":"x"}]}`,
		"unknownType":      `{"resourceType":"Foo","id":"1"}`,
		"absRef":           `{"resourceType":"Slot","id":"1","schedule":{"reference":"https://x.example/fhir/Schedule/1"},"status":"free","start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:10:00+00:00"}`,
		"versionedRef":     `{"resourceType":"Slot","id":"1","schedule":{"reference":"Schedule/1/_history/2"},"status":"free","start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:10:00+00:00"}`,
		"identifierRef":    `{"resourceType":"Slot","id":"1","schedule":{"identifier":{"system":"http://x","value":"1"}},"status":"free","start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:10:00+00:00"}`,
		"dupKey":           slotHead + `,"comment":"a","comment":"b"}`,
		"noXmlnsDiv":       slotHead + `,"text":{"status":"generated","div":"<div>x</div>"}}`,
		"badDiv":           slotHead + `,"text":{"status":"generated","div":"not xhtml"}}`,
		"goodDiv":          slotHead + `,"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}`,
		"emptyBundle":      `{"resourceType":"Bundle","type":"searchset","entry":[]}`,
		"nullBundleEntry":  `{"resourceType":"Bundle","type":"searchset","entry":null}`,
		"bundleTotal":      `{"resourceType":"Bundle","type":"searchset","total":0}`,
		"bundleScore":      `{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"http://x/Slot/1","resource":` + slotHead + `},"search":{"mode":"match","score":1}}]}`,
		"bundleUnknownRes": `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Foo"}}]}`,
		"apptNoParticipant": `{"resourceType":"Appointment","status":"booked"}`,
		"apptContainedUnref": `{"resourceType":"Appointment","status":"booked","contained":[{"resourceType":"Organization","id":"1","name":"x"}],"participant":[{"actor":{"reference":"Patient/1"},"status":"accepted"}]}`,
		"apptNestedContained": `{"resourceType":"Appointment","status":"booked","contained":[{"resourceType":"Organization","id":"1","contained":[{"resourceType":"Organization","id":"2"}]}],"participant":[{"actor":{"reference":"#1"},"status":"accepted"}]}`,
		"apptContainedNoID": `{"resourceType":"Appointment","status":"booked","contained":[{"resourceType":"Organization","name":"x"}],"participant":[{"actor":{"reference":"#1"},"status":"accepted"}]}`,
		"apptBadHashRef": `{"resourceType":"Appointment","status":"booked","participant":[{"actor":{"reference":"#nope"},"status":"accepted"}]}`,
		"apptParticipantNoStatus": `{"resourceType":"Appointment","status":"booked","participant":[{"actor":{"reference":"Patient/1"}}]}`,
		"rank0": `{"resourceType":"Patient","telecom":[{"system":"phone","value":"1","rank":0}]}`,
		"patientR4Deceased": `{"resourceType":"Patient","deceasedBoolean":false,"deceasedDateTime":"2020-01-01"}`,
		"outcomeBadSeverity": `{"resourceType":"OperationOutcome","issue":[{"severity":"bad","code":"invalid"}]}`,
		"outcomeNoIssue": `{"resourceType":"OperationOutcome","issue":[]}`,
		"capNoRest": `{"resourceType":"CapabilityStatement","status":"active","date":"2024","kind":"instance","fhirVersion":"3.0.1","acceptUnknown":"no","format":["json"]}`,
		"capEmpty": `{"resourceType":"CapabilityStatement","status":"active","date":"2024","kind":"instance","fhirVersion":"3.0.1","acceptUnknown":"no","format":["json"],"software":{"name":"x"},"implementation":{"description":"d"}}`,
		"paramsBadRes": `{"resourceType":"Parameters","parameter":[{"name":"x","resource":{"resourceType":"Patient","foo":1}}]}`,
		"metaExt": slotHead + `,"meta":{"extension":[{"url":"http://x","valueString":"y"}],"versionId":"1"}}`,
		"idNumber": `{"resourceType":"Slot","id":1}`,
		"intAsString": `{"resourceType":"Patient","telecom":[{"system":"phone","value":"1","rank":"1"}]}`,
		"primitiveExt": `{"resourceType":"Patient","birthDate":"1990-01-01","_birthDate":{"extension":[{"url":"http://x","valueDateTime":"1990-01-01T10:00:00+00:00"}]}}`,
		"lastUpdatedNoSecs": slotHead + `,"meta":{"lastUpdated":"2024-01-01T09:00+00:00"}}`,
		"dateTimeFraction": `{"resourceType":"Slot","id":"1","schedule":{"reference":"Schedule/1"},"status":"free","start":"2024-01-01T09:00:00.123+01:00","end":"2024-01-01T09:10:00+00:00"}`,
		"refDisplayOnly": `{"resourceType":"Slot","id":"1","schedule":{"display":"x"},"status":"free","start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:10:00+00:00"}`,
		"emptyRef": `{"resourceType":"Slot","id":"1","schedule":{},"status":"free","start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:10:00+00:00"}`,
		"emptyObj": slotHead + `,"meta":{}}`,
		"leadingSpace": slotHead + `,"comment":" x "}`,
		"extRelativeURL": slotHead + `,"extension":[{"url":"x y","valueCode":"x"}]}`,
		"codeWithSpace": slotHead + `,"extension":[{"url":"http://x","valueCode":"In person"}]}`,
		"codeLeadingSpace": slotHead + `,"extension":[{"url":"http://x","valueCode":" x"}]}`,
		"locationNoMode": `{"resourceType":"Location","mode":"bad"}`,
	}
	for name, s := range cases {
		t.Logf("%-25s %v", name, Validate([]byte(s)))
	}
}
