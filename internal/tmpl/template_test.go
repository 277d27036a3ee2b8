package tmpl

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// render parses src as ct and renders it with data and header.
func render(t *testing.T, src string, ct ContentType, data string, header map[string]string) (string, []string) {
	t.Helper()
	tp, err := Parse(src, ct)
	require.NoError(t, err)
	out, missing, err := tp.Render(nil, Values{Data: []byte(data), Header: header})
	require.NoError(t, err)
	return string(out), missing
}

// The Jira example of issue 5, verbatim.
func TestRenderJiraIssue(t *testing.T) {
	t.Parallel()
	src := `{"update": {}, "fields": {"summary": "Portfolio with ID {{Body.portfolioScope}}/{{Body.portfolioCode}} created on {{Header.timestamp}} - action required", "parent": {"key": "PROJ-123"}, "issuetype": {"id": "10000"}}}`
	data := `{"portfolioScope":"Finbourne-Examples","portfolioCode":"UK-Equities"}`
	header := map[string]string{"id": "evt_1", "type": "PortfolioCreated", "timestamp": "2024-03-01T09:30:00Z"}

	out, missing := render(t, src, JSON, data, header)
	require.Equal(t, `{"update": {}, "fields": {"summary": "Portfolio with ID Finbourne-Examples/UK-Equities created on 2024-03-01T09:30:00Z - action required", "parent": {"key": "PROJ-123"}, "issuetype": {"id": "10000"}}}`, out)
	require.Nil(t, missing)
	require.True(t, json.Valid([]byte(out)))
}

func TestRenderBodyPaths(t *testing.T) {
	t.Parallel()
	data := `{
		"a": {"b": {"c": "deep"}},
		"items": [{"id": "first"}, {"id": "second", "tags": ["x", "y"]}],
		"n": 42, "f": -1.5e3, "t": true, "z": null, "s": "str",
		"empty": {}, "none": [],
		"with.dot": "dotted", "esc\u0061ped": "key with escape", "dup": 1, "dup": 2,
		"0": "zero key", "m": [[1, 2], [3, 4]]
	}`
	tests := []struct {
		name    string
		tag     string
		want    string
		missing bool
	}{
		{name: "top level string", tag: "Body.s", want: "str"},
		{name: "nested", tag: "Body.a.b.c", want: "deep"},
		{name: "array index", tag: "Body.items.1.id", want: "second"},
		{name: "array in array element", tag: "Body.items.1.tags.1", want: "y"},
		{name: "array of arrays", tag: "Body.m.1.0", want: "3"},
		{name: "number", tag: "Body.n", want: "42"},
		{name: "number with exponent", tag: "Body.f", want: "-1.5e3"},
		{name: "bool", tag: "Body.t", want: "true"},
		{name: "null renders nothing, not missing", tag: "Body.z", want: ""},
		{name: "object renders its JSON", tag: "Body.a.b", want: `{"c": "deep"}`},
		{name: "array renders its JSON", tag: "Body.items.1.tags", want: `["x", "y"]`},
		{name: "digits are a key in an object", tag: "Body.0", want: "zero key"},
		{name: "key with escape in the data", tag: "Body.escaped", want: "key with escape"},
		{name: "duplicate key: first wins", tag: "Body.dup", want: "1"},
		{name: "whole data", tag: "Body", want: ""}, // checked below
		{name: "missing key", tag: "Body.nope", missing: true},
		{name: "missing nested key", tag: "Body.a.b.nope", missing: true},
		{name: "index out of range", tag: "Body.items.2", missing: true},
		{name: "index in empty array", tag: "Body.none.0", missing: true},
		{name: "key in empty object", tag: "Body.empty.x", missing: true},
		{name: "key in an array", tag: "Body.items.id", missing: true},
		{name: "path through a string", tag: "Body.s.x", missing: true},
		{name: "path through a number", tag: "Body.n.0", missing: true},
		{name: "path through null", tag: "Body.z.x", missing: true},
		{name: "keys with dots cannot be addressed", tag: "Body.with.dot", missing: true},
		{name: "negative index is a key", tag: "Body.items.-1", missing: true},
		{name: "huge index", tag: "Body.items.99999999999999999999999", missing: true},
		{name: "index with leading zero", tag: "Body.items.01", missing: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, missing := render(t, "{{"+tc.tag+"}}", Text, data, nil)
			if tc.missing {
				require.Equal(t, []string{tc.tag}, missing)
				require.Empty(t, out)
				return
			}
			require.Nil(t, missing)
			if tc.tag == "Body" {
				require.JSONEq(t, data, out)
				return
			}
			require.Equal(t, tc.want, out)
		})
	}
}

func TestRenderHeader(t *testing.T) {
	t.Parallel()
	header := map[string]string{
		"id": "evt_1", "type": "order.created", "timestamp": "2024-03-01T09:30:00Z", "tenant": "acme",
		"correlation": "c-7", "dotted.key": "ok", "blank": "",
	}
	out, missing := render(t, "{{Header.id}}|{{Header.type}}|{{Header.timestamp}}|{{Header.tenant}}|{{Header.correlation}}|{{Header.dotted.key}}|{{Header.blank}}|{{Header.absent}}",
		Text, `{}`, header)
	require.Equal(t, "evt_1|order.created|2024-03-01T09:30:00Z|acme|c-7|ok||", out)
	require.Equal(t, []string{"Header.absent"}, missing)
}

func TestRenderWhitespaceInTags(t *testing.T) {
	t.Parallel()
	out, missing := render(t, "{{ Body.a }}-{{\tHeader.id\n}}-{{Body.a}}", Text, `{"a":"x"}`, map[string]string{"id": "1"})
	require.Equal(t, "x-1-x", out)
	require.Nil(t, missing)
}

func TestRenderJSONInsideString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		data   string
		header string
		want   string // the rendered "v" field, decoded
	}{
		{name: "quote cannot end the string", data: `{"x": "a\", \"injected\": \"yes"}`, want: `a", "injected": "yes`},
		{name: "backslash", data: `{"x": "C:\\dir\\"}`, want: `C:\dir\`},
		{name: "newline and tab", data: `{"x": "line1\nline2\tend"}`, want: "line1\nline2\tend"},
		{name: "unicode as is", data: `{"x": "héllo 世界 🎉"}`, want: "héllo 世界 🎉"},
		{name: "unicode escapes", data: `{"x": "\u00e9\ud83c\udf89"}`, want: "é🎉"},
		{name: "tag delimiters in data", data: `{"x": "{{Body.x}} and }}{{"}`, want: "{{Body.x}} and }}{{"},
		{name: "number by its literal", data: `{"x": 12.5}`, want: "12.5"},
		{name: "bool by its literal", data: `{"x": false}`, want: "false"},
		{name: "null is empty", data: `{"x": null}`, want: ""},
		{name: "object by its JSON text", data: `{"x": {"k": "v\"q"}}`, want: `{"k": "v\"q"}`},
		{name: "array by its JSON text", data: `{"x": [1, "two"]}`, want: `[1, "two"]`},
		{name: "header with quote and control bytes", data: `{"x": ""}`, header: "h\"i\x01\u2028\\", want: "h\"i\x01\u2028\\"},
		{name: "header with invalid UTF-8", data: `{"x": ""}`, header: "a\xffb", want: "a\ufffdb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := `{"v": "{{Body.x}}{{Header.h}}", "after": 1}`
			out, _ := render(t, src, JSON, tc.data, map[string]string{"h": tc.header})
			var got struct {
				V     string `json:"v"`
				After int    `json:"after"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &got), out)
			require.Equal(t, tc.want, got.V)
			require.Equal(t, 1, got.After, "a value broke out of its string: %s", out)
			require.NotContains(t, out, `"injected":`)
		})
	}
}

func TestRenderJSONRawInserts(t *testing.T) {
	t.Parallel()
	data := `{"obj": {"a": [1, {"b": null}]}, "arr": [true, false], "num": -0.5, "str": "q\"uote", "t": true, "z": null}`
	tests := []struct {
		name string
		src  string
		want string
	}{
		{name: "object", src: `{"x": {{Body.obj}}}`, want: `{"x": {"a": [1, {"b": null}]}}`},
		{name: "array", src: `{"x": {{Body.arr}}}`, want: `{"x": [true, false]}`},
		{name: "number", src: `{"x": {{Body.num}}}`, want: `{"x": -0.5}`},
		{name: "string keeps its quotes", src: `{"x": {{Body.str}}}`, want: `{"x": "q\"uote"}`},
		{name: "bool", src: `{"x": {{Body.t}}}`, want: `{"x": true}`},
		{name: "null", src: `{"x": {{Body.z}}}`, want: `{"x": null}`},
		{name: "missing is null", src: `{"x": {{Body.nope}}}`, want: `{"x": null}`},
		{name: "header is a JSON string", src: `{"x": {{Header.id}}}`, want: `{"x": "evt_\"1"}`},
		{name: "missing header is null", src: `{"x": {{Header.nope}}}`, want: `{"x": null}`},
		{name: "in an array", src: `[{{Body.num}}, {{ Body.str }},{{Body.obj.a.1}}]`, want: `[-0.5, "q\"uote",{"b": null}]`},
		{name: "whole template", src: ` {{Body.arr}} `, want: ` [true, false] `},
		{name: "whole data", src: `{"data": {{Body}}}`, want: `{"data": ` + data + `}`},
		{name: "same tag in and out of a string", src: `{"raw": {{Body.str}}, "text": "<{{Body.str}}>"}`, want: `{"raw": "q\"uote", "text": "<q\"uote>"}`},
		{name: "string after escaped quote in literal", src: `{"k\"{{Body.num}}": {{Body.num}}}`, want: `{"k\"-0.5": -0.5}`},
		{name: "tag after a complete escape", src: `{"k": "\\{{Body.num}}\u00e9{{Body.num}}"}`, want: `{"k": "\\-0.5\u00e9-0.5"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, _ := render(t, tc.src, JSON, data, map[string]string{"id": `evt_"1`})
			require.Equal(t, tc.want, out)
			require.True(t, json.Valid([]byte(out)), out)
		})
	}
}

func TestRenderMissingReported(t *testing.T) {
	t.Parallel()
	src := `{"a": "{{Body.x}}", "b": {{Body.y}}, "c": "{{Body.x}}{{Header.tenant}}", "d": "{{Body.here}}"}`
	out, missing := render(t, src, JSON, `{"here": "yes"}`, map[string]string{})
	require.Equal(t, `{"a": "", "b": null, "c": "", "d": "yes"}`, out)
	require.Equal(t, []string{"Body.x", "Body.y", "Header.tenant"}, missing, "each missing tag once, in order")

	// Without data, every Body tag is missing.
	tp, err := Parse(src, JSON)
	require.NoError(t, err)
	got, missing, err := tp.Render(nil, Values{})
	require.NoError(t, err)
	require.Equal(t, `{"a": "", "b": null, "c": "", "d": ""}`, string(got))
	require.Equal(t, []string{"Body.x", "Body.y", "Header.tenant", "Body.here"}, missing)
}

func TestRenderTextAndForm(t *testing.T) {
	t.Parallel()
	data := `{"name": "Ada \"L\" & co/ltd", "note": "a+b=c?\nü", "n": 7, "obj": {"k": 1}, "z": null}`
	header := map[string]string{"id": "evt 1&x"}
	tests := []struct {
		name string
		ct   ContentType
		src  string
		want string
	}{
		{name: "text inserts as is", ct: Text, src: "Hi {{Body.name}}: {{Body.note}} #{{Body.n}} {{Body.obj}} [{{Body.z}}] {{Header.id}}",
			want: "Hi Ada \"L\" & co/ltd: a+b=c?\nü #7 {\"k\": 1} [] evt 1&x"},
		{name: "text keeps JSON-looking literal", ct: Text, src: `{"not": "checked {{Body.n}}`, want: `{"not": "checked 7`},
		{name: "form query-escapes", ct: Form, src: "name={{Body.name}}&note={{Body.note}}&n={{Body.n}}&obj={{Body.obj}}&id={{Header.id}}&z={{Body.z}}&m={{Body.m}}",
			want: "name=Ada+%22L%22+%26+co%2Fltd&note=a%2Bb%3Dc%3F%0A%C3%BC&n=7&obj=%7B%22k%22%3A+1%7D&id=evt+1%26x&z=&m="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, _ := render(t, tc.src, tc.ct, data, header)
			require.Equal(t, tc.want, out)
		})
	}
}

func TestRenderURL(t *testing.T) {
	t.Parallel()
	data := `{"key": "PROJ-1", "path": "a/b c", "dots": "..", "dot": ".", "q": "x&y=z #1/2", "plus": "1+1", "u": "ü"}`
	tests := []struct {
		name string
		src  string
		want string
	}{
		{name: "path segment", src: "https://jira.example.com/rest/api/2/issue/{{Body.key}}/comment", want: "https://jira.example.com/rest/api/2/issue/PROJ-1/comment"},
		{name: "path escapes slash and space", src: "https://h.example/x/{{Body.path}}", want: "https://h.example/x/a%2Fb%20c"},
		{name: "path escapes dot segments", src: "https://h.example/x/{{Body.dots}}/{{Body.dot}}/y", want: "https://h.example/x/%2E%2E/%2E/y"},
		{name: "path keeps plus", src: "https://h.example/{{Body.plus}}", want: "https://h.example/1+1"},
		{name: "query escapes", src: "https://h.example/s?q={{Body.q}}&p={{Body.plus}}&path={{Body.path}}", want: "https://h.example/s?q=x%26y%3Dz+%231%2F2&p=1%2B1&path=a%2Fb+c"},
		{name: "unicode", src: "https://h.example/{{Body.u}}?u={{Body.u}}", want: "https://h.example/%C3%BC?u=%C3%BC"},
		{name: "fragment is path-escaped", src: "https://h.example/p?a=1#{{Body.path}}", want: "https://h.example/p?a=1#a%2Fb%20c"},
		{name: "question mark in the fragment", src: "https://h.example/p#x?{{Body.path}}", want: "https://h.example/p#x?a%2Fb%20c"},
		{name: "relative", src: "/issues/{{Body.key}}?x={{Body.q}}", want: "/issues/PROJ-1?x=x%26y%3Dz+%231%2F2"},
		{name: "missing is empty", src: "https://h.example/a/{{Body.nope}}?b={{Body.nope}}", want: "https://h.example/a/?b="},
		{name: "header", src: "https://h.example/t/{{Header.tenant}}", want: "https://h.example/t/acme%20corp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp, err := ParseURL(tc.src)
			require.NoError(t, err)
			out, _, err := tp.Render(nil, Values{Data: []byte(data), Header: map[string]string{"tenant": "acme corp"}})
			require.NoError(t, err)
			require.Equal(t, tc.want, string(out))
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		src       string
		ct        ContentType
		url       bool
		line, col int
		contains  string
	}{
		{name: "unterminated tag", src: `{"a": "{{Body.x"}`, line: 1, col: 8, contains: `unterminated tag: "{{" has no closing "}}"`},
		{name: "unterminated tag on line 3", src: "x\nyz\n ab {{Body.x", ct: Text, line: 3, col: 5, contains: "unterminated tag"},
		{name: "nested open", src: "{{Body.a {{Body.b}}", ct: Text, line: 1, col: 1, contains: "tags cannot nest"},
		{name: "unterminated after tags and a stray close", src: "{{Body.a}} }} {{{Body.b}} {{Body.c", ct: Text, line: 1, col: 27, contains: "has no closing"},
		{name: "second tag nested", src: "{{Body.a}}\n{{Body.b {{Body.c}}", ct: Text, line: 2, col: 1, contains: "tags cannot nest"},
		{name: "empty tag", src: `{"a": "{{}}"}`, line: 1, col: 8, contains: "empty tag"},
		{name: "blank tag", src: "ok\n  {{   }}", ct: Text, line: 2, col: 3, contains: "empty tag"},
		{name: "unknown root", src: `{"a": "{{Data.x}}"}`, line: 1, col: 8, contains: `unknown root "Data"`},
		{name: "root in lower case", src: "{{body.x}}", ct: Form, line: 1, col: 1, contains: "did you mean Body?"},
		{name: "header in lower case", src: "{{header.id}}", ct: Text, line: 1, col: 1, contains: "did you mean Header?"},
		{name: "brace before tag", src: `{"a":{{{Body.x}}}}`, line: 1, col: 6, contains: `put a space between them`},
		{name: "empty segment", src: "{{Body.a..b}}", ct: Text, line: 1, col: 1, contains: "bad path in tag {{Body.a..b}}: empty segment"},
		{name: "trailing dot", src: "ab{{Body.a.}}", ct: Text, line: 1, col: 3, contains: "empty segment"},
		{name: "spaces in path", src: "{{Body. a}}", ct: Text, line: 1, col: 1, contains: "surrounding spaces"},
		{name: "header without name", src: "{{Header}}", ct: Text, line: 1, col: 1, contains: "Header needs a name"},
		{name: "header with empty name", src: "{{Header.}}", ct: Text, line: 1, col: 1, contains: "Header needs a name"},
		{name: "two values side by side", src: `{"a": {{Body.x}} {{Body.y}}}`, line: 1, col: 18, contains: "tag {{Body.y}} stands outside any JSON string"},
		{name: "tag as a key", src: `{ {{Body.k}}: 1}`, line: 1, col: 3, contains: "tag {{Body.k}} stands outside any JSON string"},
		{name: "tag glued to a number", src: "{\n  \"a\": 1{{Body.x}}\n}", line: 2, col: 9, contains: "tag {{Body.x}} stands outside"},
		{name: "tag cutting an escape", src: `{"a": "x\{{Body.x}}"}`, line: 1, col: 10, contains: "cuts a JSON escape sequence"},
		{name: "tag cutting a unicode escape", src: `{"a": "\u00{{Body.x}}"}`, line: 1, col: 12, contains: "cuts a JSON escape sequence"},
		{name: "invalid JSON literal", src: "{\"a\": \"{{Body.x}}\",\n \"b\": tru}", line: 2, col: 10, contains: "template is not valid JSON: invalid character"},
		{name: "unfinished JSON", src: `{"a": "{{Body.x}}"`, line: 1, col: 19, contains: "unexpected end of JSON input"},
		{name: "trailing garbage", src: `{"a": 1} x`, line: 1, col: 10, contains: "after top-level value"},
		{name: "empty JSON template", src: "", line: 1, col: 1, contains: "template is empty"},
		{name: "tag in host", src: "https://{{Body.host}}/x", url: true, line: 1, col: 9, contains: "scheme or host"},
		{name: "tag in port", src: "https://example.com:{{Body.port}}/x", url: true, line: 1, col: 21, contains: "scheme or host"},
		{name: "tag in scheme", src: "{{Body.s}}://example.com/x", url: true, line: 1, col: 1, contains: "scheme or host"},
		{name: "bad tag in URL", src: "https://example.com/{{Body}}/{{Nope}}", url: true, line: 1, col: 30, contains: `unknown root "Nope"`},
		{name: "unterminated in URL", src: "https://example.com/{{Body.a", url: true, line: 1, col: 21, contains: "unterminated tag"},
		{name: "bad URL", src: "https://exa mple.com/{{Body.a}}", url: true, line: 1, col: 1, contains: "not a URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var err error
			if tc.url {
				_, err = ParseURL(tc.src)
			} else {
				_, err = Parse(tc.src, tc.ct)
			}
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			require.Contains(t, pe.Msg, tc.contains)
			require.Equal(t, tc.line, pe.Line, "line of %v", err)
			require.Equal(t, tc.col, pe.Column, "column of %v", err)
			require.Equal(t, fmt.Sprintf("template line %d, column %d (byte %d): %s", pe.Line, pe.Column, pe.Offset, pe.Msg), err.Error())
		})
	}
}

func TestParseURLErrorHidesURL(t *testing.T) {
	t.Parallel()
	_, err := ParseURL("https://exa mple.com/x?token=s3cret&{{Body.a}}")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")
}

func TestParseUnknownContentType(t *testing.T) {
	t.Parallel()
	_, err := Parse("x", ContentType(9))
	require.ErrorContains(t, err, "use JSON, Text or Form")
}

func TestParseValidTemplates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		ct   ContentType
	}{
		{name: "no tags", src: `{"a": 1}`},
		{name: "number beyond float64", src: `{"a": 1e999, "b": {{Body.b}}}`},
		{name: "scalar template", src: `{{Body.n}}`},
		{name: "string template", src: `"{{Body.n}}"`},
		{name: "tag in key string", src: `{"{{Body.k}}": 1}`},
		{name: "tags in nested arrays", src: `[[{{Body.a}}], [{{Body.b}}, "{{Body.c}}"]]`},
		{name: "empty text", src: "", ct: Text},
		{name: "text with braces", src: "{ not json } }} {", ct: Text},
		{name: "form", src: "a={{Body.a}}&b=2", ct: Form},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp, err := Parse(tc.src, tc.ct)
			require.NoError(t, err)
			_, _, err = tp.Render(nil, Values{Data: []byte(`{"a": 1, "b": "x", "c": [], "k": "key"}`)})
			require.NoError(t, err)
		})
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	tp, err := Parse(`{"a": "{{ Body.x.0 }}{{Header.id}}", "b": {{Body.x.0}}, "c": "{{Body}}"}`, JSON)
	require.NoError(t, err)
	tags := tp.Tags()
	require.Equal(t, []string{"Body.x.0", "Header.id", "Body"}, tags)
	tags[0] = "changed"
	require.Equal(t, "Body.x.0", tp.Tags()[0], "Tags returns a copy")

	tp, err = Parse("no tags", Text)
	require.NoError(t, err)
	require.Empty(t, tp.Tags())
	out, missing, err := tp.Render([]byte("> "), Values{})
	require.NoError(t, err)
	require.Equal(t, "> no tags", string(out))
	require.Nil(t, missing)
}

func TestRenderAppendsToDst(t *testing.T) {
	t.Parallel()
	tp, err := Parse(`{"a": "{{Body.a}}"}`, JSON)
	require.NoError(t, err)
	dst := make([]byte, 0, 256)
	dst = append(dst, "prefix:"...)
	out, _, err := tp.Render(dst, Values{Data: []byte(`{"a":"1"}`)})
	require.NoError(t, err)
	require.Equal(t, `prefix:{"a": "1"}`, string(out))
	require.Equal(t, &dst[:1][0], &out[0], "dst with room is reused")
}

func TestRenderMalformedData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		data string
	}{
		{name: "unterminated string before the key", src: `{{Body.b}}`, data: `{"a": "x, "b": 1}`},
		{name: "truncated object", src: `{{Body.a.b}}`, data: `{"a": {"b"`},
		{name: "truncated value", src: `{{Body.a}}`, data: `{"a": [1, 2`},
		{name: "bad raw insert", src: `{"x": {{Body.a}}}`, data: `{"a": 01}`},
		{name: "bad raw container", src: `{"x": {{Body.a}}}`, data: `{"a": [1,,2]}`},
		{name: "blank data", src: `{{Body.a}}`, data: `   `},
		{name: "missing colon", src: `{{Body.b}}`, data: `{"a" 1, "b": 2}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp, err := Parse(tc.src, JSON)
			require.NoError(t, err)
			_, _, err = tp.Render(nil, Values{Data: []byte(tc.data)})
			require.ErrorContains(t, err, "the event data is not valid JSON")
			require.ErrorContains(t, err, "render {{Body.")
		})
	}
}

func TestRenderConcurrent(t *testing.T) {
	t.Parallel()
	tp, err := Parse(`{"id": "{{Header.id}}", "n": {{Body.n}}, "s": "{{Body.s}}"}`, JSON)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprintf("evt_%d_%d", g, i)
				data := fmt.Sprintf(`{"n": %d, "s": "%s"}`, i, strings.Repeat("x", i%17))
				out, _, err := tp.Render(nil, Values{Data: []byte(data), Header: map[string]string{"id": id}})
				want := fmt.Sprintf(`{"id": "%s", "n": %d, "s": "%s"}`, id, i, strings.Repeat("x", i%17))
				if err != nil || string(out) != want {
					errs <- fmt.Errorf("got %q, %v; want %q", out, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestParseContentType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    ContentType
		wantErr string
	}{
		{in: "", want: JSON},
		{in: "application/json", want: JSON},
		{in: "Application/JSON; charset=utf-8", want: JSON},
		{in: "text/plain", want: Text},
		{in: "text/plain; charset=utf-8", want: Text},
		{in: "application/x-www-form-urlencoded", want: Form},
		{in: "application/xml", wantErr: `content type "application/xml" is not supported by templates`},
		{in: "json", wantErr: `content type "json" is not supported by templates`},
		{in: "text/plain; charset", wantErr: `is not a MIME type`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseContentType(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, `use "application/json", "text/plain" or "application/x-www-form-urlencoded"`)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	for _, ct := range []ContentType{JSON, Text, Form} {
		back, err := ParseContentType(ct.String())
		require.NoError(t, err)
		require.Equal(t, ct, back)
	}
	require.Equal(t, "ContentType(7)", ContentType(7).String())
}
