package webhook

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/hooksmith/webhook/internal/swar"
)

// The default request body is the envelope {"id", "type", "timestamp",
// "data"}. Publish builds it once per event when it can (see newEnvelope),
// with the event's data inside it: Event.Data is then a subslice of the
// envelope, so keeping both costs a store no more than keeping the data,
// and every delivery of the event, to one subscription or to a thousand,
// sends those same bytes without building them again. An event without
// push deliveries gets none (nothing would send it), and an event read
// back from a store that encodes events (boltstore) has lost it: their
// deliveries, if any, build one each, with marshalEnvelope.

// envelope is the default request body.
type envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// envelopeOverhead is the envelope's length beyond its ID, type and data,
// with the longest RFC 3339 timestamp.
const envelopeOverhead = len(`{"id":"","type":"","timestamp":"2006-01-02T15:04:05.999999999Z","data":}`)

// newEnvelope returns the envelope of e, with a copy of e.Data inside it,
// and that copy: a subslice of the envelope, capped so that appending to it
// cannot reach the closing brace. When json.Marshal would not write the
// envelope's fields as they are (see verbatimEnvelope), it returns no
// envelope and a plain copy of e.Data. Publish validated e.
func newEnvelope(e *Event) ([]byte, json.RawMessage) {
	if !verbatimEnvelope(e) {
		return nil, append(json.RawMessage(nil), e.Data...)
	}
	b := appendVerbatimEnvelope(e)
	end := len(b) - 1 // before the closing brace
	return b, json.RawMessage(b[end-len(e.Data) : end : end])
}

// builtEnvelope returns the envelope Publish built for ev, or nil when it
// built none or ev is no longer what it was built from: its data is not the
// envelope's, or its ID, type or timestamp changed (a store may return a
// changed copy of what EventInsert was given). The event Publish gave the
// store, returned as it is, is not checked: neither side changes it (see
// Store, on ownership).
func (e *Event) builtEnvelope() []byte {
	env := e.envelope
	start := len(env) - len(e.Data) - 1
	if start <= 0 || len(e.Data) == 0 || &env[start] != &e.Data[0] {
		return nil
	}
	if e.self == e {
		return env
	}
	// The head Publish wrote has no quote but the envelope's own, so the
	// same head from e means the same ID, type and timestamp: no need to
	// read the data again.
	var buf [192]byte
	if !bytes.Equal(env[:start], appendEnvelopeHead(buf[:0], e)) {
		return nil
	}
	return env
}

// envelopeBody returns the default body for ev and whether it is the
// envelope Publish built, which every delivery of ev shares and nothing may
// change.
func envelopeBody(ev *Event) (body []byte, shared bool, err error) {
	if env := ev.builtEnvelope(); env != nil {
		return env, true, nil
	}
	body, err = marshalEnvelope(ev)
	return body, false, err
}

// appendEnvelopeHead appends what comes before the data in the envelope of
// e, which verbatimEnvelope accepts.
func appendEnvelopeHead(b []byte, e *Event) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, e.ID...)
	b = append(b, `","type":"`...)
	b = append(b, e.Type...)
	b = append(b, `","timestamp":"`...)
	b = e.Timestamp.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, `","data":`...)
}

// verbatimEnvelope reports whether json.Marshal writes the envelope of e
// with its ID, type, timestamp and data as they are, which is what
// appendEnvelopeHead assumes. It reads the whole data.
func verbatimEnvelope(e *Event) bool {
	y := e.Timestamp.UTC().Year()
	return verbatimString(e.ID) && verbatimString(e.Type) && y >= 0 && y <= 9999 && verbatimJSON(e.Data)
}

// marshalEnvelope returns a new default body for ev: the bytes of
// json.Marshal(envelope{...}), without its reflection and without
// re-scanning data that needs no rewriting. json.Marshal compacts a
// json.RawMessage and escapes <, >, & and U+2028/U+2029 in it; data that
// has none of these (the usual case for data encoded by encoding/json) is
// copied as it is, and the rest still goes through json.Marshal. Publish
// validated the data, so it is valid JSON.
func marshalEnvelope(ev *Event) ([]byte, error) {
	if !verbatimEnvelope(ev) {
		return json.Marshal(envelope{ID: ev.ID, Type: ev.Type, Timestamp: ev.Timestamp.UTC(), Data: ev.Data})
	}
	return appendVerbatimEnvelope(ev), nil
}

// appendVerbatimEnvelope returns a new envelope of e, which
// verbatimEnvelope accepts, in an array of its exact size.
func appendVerbatimEnvelope(e *Event) []byte {
	b := make([]byte, 0, len(e.ID)+len(e.Type)+len(e.Data)+envelopeOverhead)
	b = appendEnvelopeHead(b, e)
	b = append(b, e.Data...)
	return append(b, '}')
}

// verbatimString reports whether json.Marshal writes s as it is, between
// quotes.
func verbatimString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// verbatimJSON reports whether json.Marshal writes the valid JSON b, as a
// json.RawMessage, as it is: no whitespace outside strings, nothing it
// escapes. The bytes it escapes (<, >, & and U+2028/U+2029, which begin
// with 0xE2) can stand in valid JSON only inside strings, and tab, newline
// and carriage return only outside them (a string holds them escaped), as
// whitespace: each is found by one search of the whole data, in
// bytes.IndexByte's vector code. Only a space can be either: data with one
// is looked at further (spaceOutsideStrings).
func verbatimJSON(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range [...]byte{'<', '>', '&', '\t', '\n', '\r'} {
		if bytes.IndexByte(b, c) >= 0 {
			return false
		}
	}
	for i := 0; ; i++ {
		j := bytes.IndexByte(b[i:], 0xE2)
		if j < 0 {
			break
		}
		if i += j; i+2 < len(b) && b[i+1] == 0x80 && b[i+2]&^1 == 0xA8 {
			return false
		}
	}
	return bytes.IndexByte(b, ' ') < 0 || !spaceOutsideStrings(b)
}

// spaceOutsideStrings reports whether the valid JSON b has a space outside
// its strings. Without a backslash in b every quote opens or closes a
// string, so a space is outside one when the quotes before it are even in
// number: it counts them from one space to the next (bytes.Count, vector
// code too). Otherwise it walks the strings.
func spaceOutsideStrings(b []byte) bool {
	if bytes.IndexByte(b, '\\') < 0 {
		in := false
		for i := 0; ; i++ {
			j := bytes.IndexByte(b[i:], ' ')
			if j < 0 {
				return false
			}
			if in = in != (bytes.Count(b[i:i+j], []byte{'"'})%2 == 1); !in {
				return true
			}
			i += j
		}
	}
	in := false
	for i := 0; i < len(b); {
		stop := byte(' ') // outside a string, a space; inside, an escape
		if in {
			stop = '\\'
		}
		j := swar.Index2(b, i, '"', stop)
		switch {
		case j < 0:
			return false
		case b[j] == '"':
			in, i = !in, j+1
		case in: // a backslash: skip the byte it escapes
			i = j + 2
		default:
			return true
		}
	}
	return false
}
