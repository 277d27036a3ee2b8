package tmpl

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	data := []byte(` { "a" : [ 1 , { "b" : "x\"}]" } ] , "c\\" : {"d": [[], {}]}, "e": "\u0066" } `)
	tests := []struct {
		name string
		path []segment
		want string
		res  lookupResult
	}{
		{name: "whole", want: `{ "a" : [ 1 , { "b" : "x\"}]" } ] , "c\\" : {"d": [[], {}]}, "e": "\u0066" }`},
		{name: "spaces everywhere", path: []segment{{"a", -1}, {"1", 1}, {"b", -1}}, want: `"x\"}]"`},
		{name: "escaped key", path: []segment{{`c\`, -1}, {"d", -1}, {"1", 1}}, want: `{}`},
		{name: "first element", path: []segment{{"a", -1}, {"0", 0}}, want: `1`},
		{name: "past structural chars in a string", path: []segment{{"e", -1}}, want: `"\u0066"`},
		{name: "missing", path: []segment{{"zz", -1}}, res: lookupMissing},
		{name: "into empty array", path: []segment{{`c\`, -1}, {"d", -1}, {"0", 0}, {"0", 0}}, res: lookupMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start, end, res, _ := lookup(data, tc.path, nil)
			require.Equal(t, tc.res, res)
			if res == lookupFound {
				require.Equal(t, tc.want, string(data[start:end]))
			}
		})
	}
}

func TestLookupMalformedNeverPanics(t *testing.T) {
	t.Parallel()
	full := `{"a": {"b": [1, "two\"", {"c": null}]}, "d": true}`
	path := []segment{{"a", -1}, {"b", -1}, {"2", 2}, {"c", -1}}
	for n := range len(full) {
		start, end, res, _ := lookup([]byte(full[:n]), path, nil)
		if res == lookupFound {
			// A cut scalar is taken as it is; Render checks it where it
			// inserts it raw.
			require.True(t, strings.HasPrefix("null", full[start:end]), "prefix %q", full[:n])
			require.Equal(t, full[start:end] == "null", validValue([]byte(full[start:end])))
			continue
		}
		require.Equal(t, lookupMalformed, res, "prefix %q", full[:n])
	}
	start, end, res, _ := lookup([]byte(full), path, nil)
	require.Equal(t, lookupFound, res)
	require.Equal(t, "null", full[start:end])
}

func TestValidValue(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "-0", "12", "-1.5", "1e9", "1E+2", "2.5e-3", "true", "false", "null", `"s"`, `[1]`, `{}`} {
		require.True(t, validValue([]byte(s)), s)
		require.True(t, json.Valid([]byte(s)), s)
	}
	for _, s := range []string{"", "-", "01", "1.", ".5", "1e", "1e+", "+1", "tru", "nul", "1x", "0x10", "--1", `"s`, `[1,]`, `{"a"}`} {
		require.False(t, validValue([]byte(s)), s)
		require.False(t, json.Valid([]byte(s)), s)
	}
}

// The appenders agree with encoding/json and net/url on every input here.
var escapeInputs = []string{
	"", "plain", `quo"te`, `back\slash`, "new\nline\r\ttab", "\x00\x01\x1f\x7f", "héllo 世界 🎉",
	"a/b c?d=e&f#g+h%i", ".", "..", "...", "~-_.", "$&+,:;=@", "\u2028\u2029", "{{Body.x}} }}",
}

func TestAppendJSONEscaped(t *testing.T) {
	t.Parallel()
	for _, s := range append(escapeInputs, "bad\xff\xfeutf8") {
		out := append([]byte{'"'}, appendJSONEscaped(nil, s)...)
		out = append(out, '"')
		var got string
		require.NoError(t, json.Unmarshal(out, &got), "%q", out)
		marshaled, err := json.Marshal(s) // one U+FFFD per invalid byte
		require.NoError(t, err)
		var want string
		require.NoError(t, json.Unmarshal(marshaled, &want))
		require.Equal(t, want, got)
		require.Equal(t, string(appendJSONEscaped(nil, []byte(s))), string(appendJSONEscaped(nil, s)))
	}
}

func TestAppendUnquotedAndContent(t *testing.T) {
	t.Parallel()
	raws := []string{
		`plain`, `\"\\\/\b\f\n\r\t`, `\u00e9\u4e16`, `\ud83c\udf89`, `lone \ud800 high`, `lone \udc00 low`,
		`\ud800\u0041 mismatched pair`, `\ud800`, `end \u0041`,
	}
	for _, s := range escapeInputs {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		raws = append(raws, string(b[1:len(b)-1]))
	}
	for _, raw := range raws {
		var want string
		require.NoError(t, json.Unmarshal([]byte(`"`+raw+`"`), &want), raw)
		require.Equal(t, want, string(appendUnquoted(nil, []byte(raw))), "unquote %q", raw)

		content := `"` + string(appendJSONStringContent(nil, []byte(raw))) + `"`
		var got string
		require.NoError(t, json.Unmarshal([]byte(content), &got), content)
		require.Equal(t, want, got, "content %q", raw)
	}
}

func TestAppendStringContentRepairsMalformed(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{`a\`, `a\x`, `a\u12`, "a\"b", "ctl\x01", "bad\xff"} {
		content := `"` + string(appendJSONStringContent(nil, []byte(raw))) + `"`
		require.True(t, json.Valid([]byte(content)), "%q gave %q", raw, content)
		require.True(t, strings.HasPrefix(string(appendUnquoted(nil, []byte(raw))), raw[:2]), raw)
	}
}

func TestAppendURLEscaped(t *testing.T) {
	t.Parallel()
	for _, s := range append(escapeInputs, "bad\xff") {
		require.Equal(t, url.QueryEscape(s), string(appendQueryEscaped(nil, s)), "query %q", s)
		want := url.PathEscape(s)
		if s == "." || s == ".." {
			want = strings.Repeat("%2E", len(s))
		}
		require.Equal(t, want, string(appendPathEscaped(nil, []byte(s))), "path %q", s)
	}
}

// FuzzValidValue checks validValue against json.Valid on spans without
// surrounding spaces (skipValue never yields any).
func FuzzValidValue(f *testing.F) {
	for _, s := range []string{
		`{"a": [1, -2.5e+3, true, false, null, "s\"\\\u00e9"], "b": {}}`, `[]`, `[1,]`, `{"a" 1}`, `{"a":1,}`,
		`"ctl` + "\x01" + `"`, `"bad\x"`, `"\u12"`, "\"\xff\"", `01`, `-`, `1.`, `[[[[]]]]`, `{"a":{"b":[{"c":null}]}}`,
		`tru`, `nulll`, `[1 2]`, `{,}`, `[ 1 , 2 ]`, `{ "a" : 1 }`, " {} ", "\n[1]\t", " ", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		require.Equal(t, json.Valid(b), Valid(b), "Valid(%q)", b)
		if len(b) > 0 && (isSpace(b[0]) || isSpace(b[len(b)-1])) {
			return
		}
		require.Equal(t, json.Valid(b), validValue(b), "%q", b)
	})
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func TestValidValueDepth(t *testing.T) {
	t.Parallel()
	for _, n := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		b := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
		require.Equal(t, json.Valid(b), validValue(b), "depth %d", n)
	}
}
