package fhirmap

import (
	"runtime"
	"sync"
	"weak"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// encodedMemo remembers the encoded FHIR form of shared domain values for as
// long as each value lives: the store hands every slot search the same
// cached schedule, practitioner and location values, so their JSON is made
// once rather than on every search (mapping and encoding them was an eighth
// of a 100-slot search's CPU). Keys are weak, so the memo never keeps a value
// alive, and a value's entry goes when the value is collected.
type encodedMemo[T any] struct {
	m sync.Map // weak.Pointer[T] -> *fhir.Encoded
}

// get returns v's encoded resource, mapping and encoding it the first time.
// v must not change afterwards.
func (c *encodedMemo[T]) get(v *T, mapf func(*T) fhir.Resource) fhir.Resource {
	k := weak.Make(v)
	if e, ok := c.m.Load(k); ok {
		return e.(*fhir.Encoded)
	}
	r := mapf(v)
	enc, err := fhir.NewEncoded(r)
	if err != nil {
		return r
	}
	if prev, loaded := c.m.LoadOrStore(k, enc); loaded {
		return prev.(*fhir.Encoded)
	}
	runtime.AddCleanup(v, func(k weak.Pointer[T]) { c.m.Delete(k) }, k)
	return enc
}

var (
	encodedSchedules encodedMemo[scheduling.Schedule]
	// encodedSchedulesSvc holds the Schedules mapped with their service
	// reference (service filtering on), which the same schedule lacks when off.
	encodedSchedulesSvc  encodedMemo[scheduling.Schedule]
	encodedPractitioners encodedMemo[scheduling.Practitioner]
	encodedLocations     encodedMemo[scheduling.Location]
)
