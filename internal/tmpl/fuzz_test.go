package tmpl

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzTemplate parses any template as any content type and renders it with
// any data and header value. Nothing may panic; a JSON template that parses
// must render valid JSON from valid data; a URL template must render a URL
// whose tags did not add structure.
func FuzzTemplate(f *testing.F) {
	seeds := []struct {
		src, data, header string
		ct                uint8
	}{
		{`{"update": {}, "fields": {"summary": "Portfolio with ID {{Body.portfolioScope}}/{{Body.portfolioCode}} created on {{Header.timestamp}} - action required"}}`,
			`{"portfolioScope":"Finbourne-Examples","portfolioCode":"UK-Equities"}`, "2024-03-01T09:30:00Z", 0},
		{`{"x": {{Body.a}}, "y": "{{Body.a}}", "h": {{Header.h}}}`, `{"a": {"b": [1, "q\"", null]}}`, "quo\"te", 0},
		{`[{{Body.0}}, "{{ Body.1.k }}", {{Body}}]`, `[1.5e3, {"k": "v\\n\u00e9"}]`, "", 0},
		{`{"k\"{{Body.a}}": "\u00e9{{Header.h}}\\"}`, `{"a": "}}{{"}`, "\x00\xff", 0},
		{`{"a": "{{Body.missing}}", "b": {{Body.missing}}}`, `null`, "", 0},
		{"Hello {{Body.name}} ({{Header.h}})", `{"name": "Ada\nL"}`, "x y", 1},
		{"a={{Body.a}}&b={{Header.h}}", `{"a": "1&2=3 +"}`, "é", 2},
		{"https://example.com/issues/{{Body.k}}?q={{Body.q}}#{{Header.h}}", `{"k": "../a b", "q": "x&y#"}`, "/", 3},
		{"{{Body.a", `{}`, "", 0},
		{"{{}}", `{}`, "", 1},
		{`{"a": "\{{Body.a}}"}`, `{"a": 1}`, "", 0},
	}
	for _, s := range seeds {
		f.Add(s.src, []byte(s.data), s.header, s.ct)
	}
	f.Fuzz(func(t *testing.T, src string, data []byte, header string, ct uint8) {
		var (
			tp  *Template
			err error
		)
		kind := ct % 4
		if kind == 3 {
			tp, err = ParseURL(src)
		} else {
			tp, err = Parse(src, ContentType(kind))
		}
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				require.LessOrEqual(t, pe.Offset, len(src))
				require.Positive(t, pe.Line)
				require.Positive(t, pe.Column)
			}
			return
		}
		v := Values{Data: data, Header: map[string]string{"h": header, "id": header}}
		out, _, err := tp.Render(nil, v)
		if !json.Valid(data) {
			return // no panic is all that is asked
		}
		require.NoError(t, err, "valid data %q", data)
		switch {
		case kind == 3:
			// Values are escaped: the URL has the separators of its
			// literal text, no more.
			_, raws, err := findTags(src)
			require.NoError(t, err)
			literal := []byte(literalOnly(src, raws))
			for _, sep := range []string{"/", "?", "#"} {
				require.Equal(t, bytes.Count(literal, []byte(sep)), bytes.Count(out, []byte(sep)), "%q in %q", sep, out)
			}
		case ContentType(kind) == JSON:
			require.True(t, json.Valid(out), "template %q with data %q rendered invalid JSON %q", src, data, out)
		}
	})
}
