package store

import "slices"

// CachedSchedules returns the ids of the schedules the reference cache holds
// for a practice, sorted, and whether they were read as the practice's whole
// set.
func (s *Store) CachedSchedules(practiceID int64) (ids []int64, whole bool) {
	s.refs.mu.RLock()
	defer s.refs.mu.RUnlock()
	e := s.refs.practices[practiceID]
	if e == nil {
		return nil, false
	}
	for id := range e.schedules {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, e.whole
}

// ForgetCachedSchedule drops one schedule from the reference cache, as if
// the practice's load had not reached it.
func (s *Store) ForgetCachedSchedule(practiceID, id int64) {
	s.refs.mu.Lock()
	defer s.refs.mu.Unlock()
	if e := s.refs.practices[practiceID]; e != nil && e.schedules[id] != nil {
		delete(e.schedules, id)
		s.refs.n--
	}
}

// IdemKey is the booking retry key, for tests.
var IdemKey = idemKey
