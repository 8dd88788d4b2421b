package federation

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/jsonapi"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// The hub's booking API: what `slotbridge book` does, over HTTP for a
// front end. Bodies and answers are plain JSON (the appointment inside is
// the practice's FHIR Appointment); refusals are the management APIs'
// {"error", "code"} body.
//
//	POST /hub/{name}/Appointment                      book a slot found by a search
//	GET  /hub/{name}/Appointment?patient=&from=&to=   a patient's appointments across the hub
//	GET  /hub/{name}/Appointment/{ref}                one appointment, read at its practice
//	POST /hub/{name}/Appointment/{ref}/$amend         new description and/or comment
//	POST /hub/{name}/Appointment/{ref}/$cancel        cancel with a reason
//
// {ref} is "{ODS}-{id}" (or "{ODS}/{id}" escaped), as the searchset and the
// CLI name appointments.

// bookBody is a booking request.
type bookBody struct {
	// Slot is "{ODS}/{id}" or the searchset's "{ODS}-{id}".
	Slot    string         `json:"slot"`
	Patient patientDetails `json:"patient"`
	// OrgType is the organisation type the slot was found with (org-type of the search).
	OrgType     string `json:"orgType"`
	Description string `json:"description"`
	Comment     string `json:"comment"`
	// From and To bound where the slot is looked for again (default now to
	// MaxSearchDays on, as far as a search reaches; the forms of the
	// search's start and end).
	From string `json:"from"`
	To   string `json:"to"`
}

type patientDetails struct {
	NHSNumber string `json:"nhsNumber"`
	Family    string `json:"family"`
	Given     string `json:"given"`
	Gender    string `json:"gender"`
	BirthDate string `json:"birthDate"`
}

// bookedJSON is one appointment as the booking API answers it.
type bookedJSON struct {
	Ref         string            `json:"ref"`
	ODS         string            `json:"ods"`
	Registered  bool              `json:"registered,omitempty"`
	Already     bool              `json:"alreadyBooked,omitempty"`
	Cancelled   bool              `json:"alreadyCancelled,omitempty"`
	Appointment *fhir.Appointment `json:"appointment"`
}

type failureJSON struct {
	ODS    string `json:"ods"`
	Reason string `json:"reason"`
	Status int    `json:"status,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// apiRef is an appointment's reference in this API: "{ODS}-{id}".
func apiRef(ods string, a *fhir.Appointment) string { return hubID(ods, a.ID) }

func (a *API) book(w http.ResponseWriter, r *http.Request) {
	var in bookBody
	if err := decodeBody(r, &in); err != nil {
		a.writeErr(w, err)
		return
	}
	from, to, err := parseRange(in.From, in.To, time.Now())
	if err != nil {
		a.writeErr(w, err)
		return
	}
	b, err := a.Hub.Book(r.Context(), r.PathValue("name"), BookRequest{Slot: in.Slot, OrgType: in.OrgType,
		Description: in.Description, Comment: in.Comment, From: from, To: to,
		Patient: PatientDetails{NHSNumber: in.Patient.NHSNumber, Family: in.Patient.Family, Given: in.Patient.Given,
			Gender: in.Patient.Gender, BirthDate: in.Patient.BirthDate}})
	if scheduling.ErrorCode(err) == scheduling.ECONFLICT {
		// The slot is not offered where it was looked for: say which of this
		// API's fields look elsewhere (the CLI names its flags instead).
		err = scheduling.Errorf(scheduling.ECONFLICT, "%s; or, to look for it elsewhere, send from and to around the slot's time and the orgType it was found with",
			scheduling.ErrorMessage(err))
	}
	if err != nil {
		a.writeCallErr(w, err)
		return
	}
	status := http.StatusCreated
	if b.AlreadyBooked {
		status = http.StatusOK // nothing new was made
	}
	ref := apiRef(b.ODS, b.Appointment)
	w.Header().Set("Location", "/hub/"+url.PathEscape(r.PathValue("name"))+"/Appointment/"+url.PathEscape(ref))
	writeJSON(w, status, bookedJSON{Ref: ref, ODS: b.ODS, Registered: b.Registered, Already: b.AlreadyBooked, Appointment: b.Appointment})
}

// parseRange reads optional from and to (ParseWhen's forms); one not sent
// is zero, for Hub.Book and Hub.PatientAppointments to fill in and check
// as they do for the CLI, so both edges default and refuse alike.
func parseRange(fromS, toS string, now time.Time) (from, to time.Time, err error) {
	if fromS != "" {
		if from, err = ParseWhen(fromS, false, now); err != nil {
			return from, to, scheduling.Errorf(scheduling.EPARAM, "from: %v", err)
		}
	}
	if toS != "" {
		if to, err = ParseWhen(toS, true, now); err != nil {
			return from, to, scheduling.Errorf(scheduling.EPARAM, "to: %v", err)
		}
	}
	return from, to, nil
}

func (a *API) listAppointments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if msg := strictParams(q, []string{"patient", "from", "to"}, "patient", "from", "to"); msg != "" {
		a.writeErr(w, scheduling.Errorf(scheduling.EPARAM, "%s", msg))
		return
	}
	from, to, err := parseRange(q.Get("from"), q.Get("to"), time.Now())
	if err != nil {
		a.writeErr(w, err)
		return
	}
	appts, fails, err := a.Hub.PatientAppointments(r.Context(), r.PathValue("name"), q.Get("patient"), from, to)
	if err != nil {
		a.writeCallErr(w, err)
		return
	}
	out := struct {
		Appointments []bookedJSON  `json:"appointments"`
		Failures     []failureJSON `json:"failures"`
	}{Appointments: []bookedJSON{}, Failures: []failureJSON{}}
	for _, x := range appts {
		out.Appointments = append(out.Appointments, bookedJSON{Ref: apiRef(x.ODS, x.Appointment), ODS: x.ODS, Appointment: x.Appointment})
	}
	for _, f := range fails {
		out.Failures = append(out.Failures, failureJSON{ODS: f.ODS, Reason: string(f.Reason), Status: f.Status, Detail: f.Detail})
	}
	writeJSON(w, http.StatusOK, out)
}

// getAppointment answers the Location a booking gives: the appointment as
// its practice holds it now.
func (a *API) getAppointment(w http.ResponseWriter, r *http.Request) {
	b, err := a.Hub.Read(r.Context(), r.PathValue("name"), r.PathValue("ref"))
	if err != nil {
		a.writeCallErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, bookedJSON{Ref: apiRef(b.ODS, b.Appointment), ODS: b.ODS, Appointment: b.Appointment})
}

// errNoSuchOp answers a POST to an appointment's path that names neither operation.
var errNoSuchOp = scheduling.NotFound("path", "an appointment has the operations $amend and $cancel")

func isAppointmentOp(op string) bool { return op == "$amend" || op == "$cancel" }

func (a *API) changeAppointment(w http.ResponseWriter, r *http.Request) {
	ref, hub := r.PathValue("ref"), r.PathValue("name")
	var b *Booked
	var err error
	switch r.PathValue("op") {
	case "$amend":
		var in struct {
			Description *string `json:"description"`
			Comment     *string `json:"comment"`
		}
		if err := decodeBody(r, &in); err != nil {
			a.writeErr(w, err)
			return
		}
		if in.Description == nil && in.Comment == nil {
			a.writeErr(w, scheduling.Errorf(scheduling.EPARAM, "give a description, a comment or both"))
			return
		}
		b, err = a.Hub.Amend(r.Context(), hub, ref, in.Description, in.Comment)
	case "$cancel":
		var in struct {
			Reason string `json:"reason"`
		}
		if err := decodeBody(r, &in); err != nil {
			a.writeErr(w, err)
			return
		}
		b, err = a.Hub.Cancel(r.Context(), hub, ref, strings.TrimSpace(in.Reason))
	default:
		a.writeErr(w, errNoSuchOp)
		return
	}
	if err != nil {
		a.writeCallErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, bookedJSON{Ref: apiRef(b.ODS, b.Appointment), ODS: b.ODS, Cancelled: b.AlreadyCancelled, Appointment: b.Appointment})
}

// callErrorJSON is the booking API's error body: the management APIs'
// {"error", "code"}, plus "registered" when the hub registered the patient
// as temporary before the booking failed (the registration stays).
type callErrorJSON struct {
	Message    string `json:"error"`
	Code       string `json:"code"`
	Registered bool   `json:"registered,omitempty"`
}

// writeCallErr answers a domain error as writeErr does, and a practice's
// failure by what it means for the caller: the practice's own refusal
// (its Spine code, lower case) as 409 for a taken slot, 404 for something
// it does not know, 422 otherwise; no usable answer as 502 (504 on a
// timeout); a practice switched off in the directory as 403. A failure
// after the patient was registered says so, in the message and in
// "registered".
func (a *API) writeCallErr(w http.ResponseWriter, err error) {
	status, body := a.callError(err)
	var re *RegisteredError
	if errors.As(err, &re) {
		body.Message += "; " + re.Note()
		body.Registered = true
	}
	jsonapi.Write(w, status, body)
}

// callError is the status and body for err, without the registration note.
func (a *API) callError(err error) (int, callErrorJSON) {
	// Hub.Book, Amend and Cancel return a practice's failure as a *CallError
	// and everything else (a bad reference, an unknown hub) as the domain's.
	var ce *CallError
	if !errors.As(err, &ce) {
		code := scheduling.ErrorCode(err)
		status := jsonapi.Status(code)
		if status == http.StatusInternalServerError && a.Log != nil {
			a.Log.Error("hub booking API", "err", err)
		}
		return status, callErrorJSON{Message: scheduling.ErrorMessage(err), Code: string(code)}
	}
	status, code := http.StatusBadGateway, "practice_error"
	switch {
	case ce.Reason == ReasonTimeout:
		status, code = http.StatusGatewayTimeout, "practice_timeout"
	case ce.Reason == ReasonDisabled:
		status, code = http.StatusForbidden, "practice_disabled"
	case ce.Reason == ReasonSSP:
		code = "ssp_refused"
	case ce.Status >= 400 && ce.Status < 500 && ce.Reason != ReasonProviderError:
		// A Spine code: the practice refused the request. A 4xx without
		// one (an HTML 404, say) is an answer the hub cannot use, as a 5xx
		// is: practice_error, 502.
		code = strings.ToLower(strings.ReplaceAll(string(ce.Reason), " ", "_"))
		switch gpconnect.SpineCode(ce.Reason) {
		case gpconnect.DuplicateRejected:
			status = http.StatusConflict
		case gpconnect.NoRecordFound, gpconnect.PatientNotFound:
			status = http.StatusNotFound
		default:
			status = http.StatusUnprocessableEntity
		}
	}
	return status, callErrorJSON{Message: ce.Error(), Code: code}
}
