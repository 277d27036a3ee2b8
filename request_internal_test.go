package webhook

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzEnvelope holds marshalEnvelope, which appends the default body
// without reflection, to the bytes json.Marshal writes for it.
func FuzzEnvelope(f *testing.F) {
	for _, seed := range []struct {
		id, typ, data string
		unix          int64
	}{
		{"evt_1", "invoice.paid", `{"a":1}`, 1_700_000_000_123_456_789},
		{"evt <&>", "a\"b", `{"html":"<b>&amp;</b>"}`, 0},
		{"x", "y", "{ \"spaced\" : [1, 2] }", -1},
		{"x", "y", `{"a b":"c\" d","e":"\\", "f":1}`, 7},
		{"x", "y", `["a b", "c"]`, 7},
		{"x", "y", `"line\u2028sep"`, 42},
		{"x", "y", "\"raw \xe2\x80\xa8 sep\"", 42},
		{"é", "ü", `null`, 9_000_000_000_000_000_000},
	} {
		f.Add(seed.id, seed.typ, []byte(seed.data), seed.unix)
	}
	f.Fuzz(func(t *testing.T, id, typ string, data []byte, unix int64) {
		if !json.Valid(data) {
			return // Publish refuses it.
		}
		ev := &Event{ID: id, Type: typ, Timestamp: time.Unix(0, unix), Data: data}
		want, wantErr := json.Marshal(envelope{ID: id, Type: typ, Timestamp: ev.Timestamp.UTC(), Data: data})
		got, err := marshalEnvelope(ev)
		if wantErr != nil {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
		// marshalEnvelope falls back to json.Marshal when verbatimJSON says
		// no, so the body above cannot show a wrong no: ask it directly.
		raw, err := json.Marshal(json.RawMessage(data))
		require.NoError(t, err)
		require.Equal(t, bytes.Equal(raw, data), verbatimJSON(data), "verbatimJSON(%q)", data)

		// What Publish builds once per event is the same body, with a
		// copy of the data inside it, and is what deliveries send.
		pub := *ev
		var built json.RawMessage
		pub.envelope, built = newEnvelope(&pub)
		pub.Data = built
		require.Equal(t, string(data), string(built))
		body, shared, err := envelopeBody(&pub)
		require.NoError(t, err)
		require.Equal(t, string(want), string(body))
		require.Equal(t, pub.envelope != nil, shared)
		if !shared {
			require.False(t, verbatimEnvelope(ev), "an envelope that can be written as it is is built")
			return
		}
		require.Equal(t, len(built), cap(built), "appending to the data cannot reach the envelope's brace")
		// As Publish gives it to the store: that event is taken as it is,
		// without a check of its envelope's head (nothing may change it,
		// so here a change goes unseen), while a copy of it, changed or
		// not, is not that event, and is checked.
		pub.self = &pub
		pub.Timestamp = pub.Timestamp.Add(time.Nanosecond)
		require.Equal(t, string(want), string(pub.builtEnvelope()))
		pub.Timestamp = pub.Timestamp.Add(-time.Nanosecond)
		for _, changed := range []func(e *Event){
			func(e *Event) { e.ID += "x" },
			func(e *Event) { e.Type = "other" },
			func(e *Event) { e.Timestamp = e.Timestamp.Add(time.Nanosecond) },
			func(e *Event) { e.Data = bytes.Clone(e.Data) },
			func(e *Event) { e.Data = e.Data[:len(e.Data)-1] },
		} {
			c := pub
			changed(&c)
			require.Nil(t, c.builtEnvelope(), "an event changed since Publish builds its own envelope")
		}
		require.Nil(t, pub.Clone().builtEnvelope())
	})
}

func TestCanonicalHeaderNames(t *testing.T) {
	t.Parallel()
	for canon, name := range map[string]string{canonicalID: HeaderID, canonicalTimestamp: HeaderTimestamp, canonicalSignature: HeaderSignature} {
		require.Equal(t, http.CanonicalHeaderKey(name), canon)
	}
}

// newRequest builds requests to a subscription's own URL by hand; they
// must be what http.NewRequestWithContext builds.
func TestNewRequestMatchesNewRequestWithContext(t *testing.T) {
	t.Parallel()
	ts := time.Unix(1_700_000_000, 0)
	ev := &Event{ID: "evt_1", Type: "a", Timestamp: ts, Data: []byte(`{}`)}
	for _, rawURL := range []string{
		"https://example.com/hook",
		"https://example.com:8443/a/b?x=1&y=%2F",
		"http://example.com:/empty-port",
		"http://[2001:db8::1]:8080/v6",
		"http://[2001:db8::1]/v6-no-port",
		"https://user:pass@example.com/userinfo",
		"https://example.com/path%20with%2Fescapes#frag",
	} {
		for _, body := range [][]byte{[]byte(`{"a":1}`), nil} {
			sub := &Subscription{ID: "sub_1", URL: rawURL, Method: http.MethodPost, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
			var v validator
			c := compile(sub, &v)
			require.NoError(t, v.err())
			require.NotNil(t, c.target, rawURL)
			keys, err := decodeKeys(sub)
			require.NoError(t, err)
			c.keys = keys
			p := &preparedRequest{method: http.MethodPut, url: rawURL, header: http.Header{}, body: body, c: c}
			got, err := newRequest(t.Context(), ev, p, ts)
			require.NoError(t, err)
			want, err := http.NewRequestWithContext(t.Context(), http.MethodPut, rawURL, bytes.NewReader(body))
			require.NoError(t, err)

			require.Equal(t, want.Method, got.Method)
			require.Equal(t, want.URL, got.URL, rawURL)
			require.NotSame(t, c.target, got.URL, "each request has its own URL")
			require.Equal(t, want.Host, got.Host, rawURL)
			require.Equal(t, want.Proto, got.Proto)
			require.Equal(t, want.ProtoMajor, got.ProtoMajor)
			require.Equal(t, want.ProtoMinor, got.ProtoMinor)
			require.Equal(t, want.ContentLength, got.ContentLength)
			require.Equal(t, t.Context(), got.Context())
			require.Equal(t, want.Body == http.NoBody, got.Body == http.NoBody)
			require.Equal(t, readAll(t, want.Body), readAll(t, got.Body))
			for range 2 {
				wb, err := want.GetBody()
				require.NoError(t, err)
				gb, err := got.GetBody()
				require.NoError(t, err)
				require.Equal(t, readAll(t, wb), readAll(t, gb), "GetBody reads the body again")
			}
		}
	}
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b
}

// BenchmarkVerbatimJSON measures the check Publish makes on every event's
// data before it builds the envelope: one long string (the bench
// program's 1 KiB body), an object of many short fields, the same with
// spaces in its strings (which make the check look at each space), and
// 64 KiB of such objects.
func BenchmarkVerbatimJSON(b *testing.B) {
	var fields bytes.Buffer
	fields.WriteString(`{"id":"ord_2Q9xK7","amount":1299,"currency":"EUR","paid":true,"customer":{"id":"cus_81","email":"ada@example.com","tags":["vip","eu"]},"lines":[`)
	for i := range 12 {
		if i > 0 {
			fields.WriteByte(',')
		}
		fields.WriteString(`{"sku":"SKU-0042","qty":2,"price":4.5,"note":null}`)
	}
	fields.WriteString(`]}`)
	var large bytes.Buffer
	large.WriteByte('[')
	for large.Len() < 64<<10 {
		if large.Len() > 1 {
			large.WriteByte(',')
		}
		large.Write(fields.Bytes())
	}
	large.WriteByte(']')
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"string-1KiB", []byte(`{"pad":"` + string(bytes.Repeat([]byte{'x'}, 1016)) + `"}`)},
		{"fields-" + strconv.Itoa(fields.Len()) + "B", fields.Bytes()},
		{"fields-spaced-" + strconv.Itoa(fields.Len()) + "B", bytes.ReplaceAll(fields.Bytes(), []byte("SKU-"), []byte("SKU "))},
		{"fields-64KiB", large.Bytes()},
	} {
		require.True(b, json.Valid(c.data))
		require.True(b, verbatimJSON(c.data), c.name)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				verbatimJSON(c.data)
			}
		})
	}
}

// The cases verbatimJSON decides by its whole-data searches, and those
// with a space, which it decides by counting quotes (no backslash in the
// data) or by walking the strings; FuzzEnvelope holds it to json.Marshal on
// any data.
func TestVerbatimJSON(t *testing.T) {
	for data, want := range map[string]bool{
		`{"a":1}`:                 true,
		`"a b"`:                   true,
		`{"a b":"c d","e":[1,2]}`: true,
		`{"a":"x\" y"}`:           true, // an escaped quote does not end the string
		`{"a":"x\\"}`:             true,
		`{"a":"x\\", "b":1}`:      false, // an escaped backslash does not escape the quote after it
		`{"a":"\\\" "}`:           true,
		`{"a":"b","c":"d" }`:      false, // a space after several strings
		`{"a":"b","c":"d e"}`:     true,
		`{"a":"b c","d":[1, 2]}`:  false,
		`{"a b": 1}`:              false, // a second space, outside
		`{"a":1 }`:                false,
		` {"a":1}`:                false,
		`{"a":1}` + "\n":          false,
		"{\"a\":\t1}":             false,
		"[1,\r\n2]":               false,
		`{"a":"<b>"}`:             false,
		`{"a":"&amp;"}`:           false,
		`{"a":"x>y"}`:             false,
		"\"\xe2\x80\xa8\"":        false, // U+2028
		"\"\xe2\x80\xa9 \"":       false, // U+2029
		"\"\xe2\x82\xac \"":       true,  // a euro sign starts with 0xE2 too
		"\"\xe2\x80\xa8\xe2\"":    false,
		"\"x\xe2\"":               true,
	} {
		require.Equal(t, want, verbatimJSON([]byte(data)), "%q", data)
		if json.Valid([]byte(data)) {
			got, err := json.Marshal(json.RawMessage(data))
			require.NoError(t, err)
			require.Equal(t, want, string(got) == data, "json.Marshal of %q: %q", data, got)
		}
	}
	require.False(t, verbatimJSON(nil))
}
