package tmpl

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// place is where a tag stands in its template; it decides the escaping.
type place uint8

const (
	placeJSONString place = iota // inside a JSON string literal
	placeJSONValue               // alone where a JSON value goes
	placeText                    // text/plain body
	placeForm                    // form body
	placeURLPath                 // URL path or fragment
	placeURLQuery                // URL query
)

// jsonPlaces decides, for each tag of a JSON template, whether it stands
// inside a string literal or alone as a value, by scanning the literal text
// around the tags. Then it proves that the template renders valid JSON
// whatever the values (see checkJSON).
func jsonPlaces(src string, raws []rawTag) ([]place, error) {
	places := make([]place, len(raws))
	var (
		inString bool
		inEscape bool // after a backslash in a string
		hexLeft  int  // hex digits still due in a \uXXXX escape
	)
	prev := 0
	for k, rt := range raws {
		for i := prev; i < rt.start; i++ {
			c := src[i]
			switch {
			case !inString:
				inString = c == '"'
			case hexLeft > 0:
				hexLeft--
			case inEscape:
				inEscape = false
				if c == 'u' {
					hexLeft = 4
				}
			case c == '\\':
				inEscape = true
			case c == '"':
				inString = false
			}
		}
		if inString && (inEscape || hexLeft > 0) {
			return nil, newParseError(src, rt.start, `tag {{%s}} cuts a JSON escape sequence in two: complete the escape before the tag (write \\ for a backslash)`,
				strings.TrimSpace(rt.inner))
		}
		if inString {
			places[k] = placeJSONString
		} else {
			places[k] = placeJSONValue
		}
		prev = rt.end
	}
	return places, checkJSON(src, raws, places)
}

// checkJSON rejects a JSON template that some values could render invalid.
// It renders a probe with every tag inside a string empty and every tag
// standing alone as null, and parses it. That suffices: inside a string
// every value is escaped and cannot end it; a lone tag always renders one
// complete JSON value, which is valid wherever null is.
func checkJSON(src string, raws []rawTag, places []place) error {
	var (
		probe    []byte
		starts   = make([]int, len(raws)) // offset of each tag's stand-in in probe
		srcAt    = make([]int, len(raws)) // how far the probe offset is shifted
		prev     = 0
		probeLen = 0
	)
	for k, rt := range raws {
		probe = append(probe, src[prev:rt.start]...)
		starts[k] = len(probe)
		if places[k] == placeJSONValue {
			probe = append(probe, "null"...)
		}
		probeLen = len(probe)
		srcAt[k] = rt.end - probeLen
		prev = rt.end
	}
	probe = append(probe, src[prev:]...)

	// Into a RawMessage: only the syntax is checked, so a literal such as
	// 1e999, valid JSON but no float64, is accepted.
	var v json.RawMessage
	err := json.Unmarshal(probe, &v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return newParseError(src, 0, "template does not render valid JSON: %v", err)
	}
	if len(probe) == 0 {
		return newParseError(src, 0, "template is empty: a JSON template must render a JSON value, for example {\"id\": \"{{Header.id}}\"}")
	}
	if int(se.Offset) >= len(probe) && strings.Contains(se.Error(), "unexpected end") {
		return newParseError(src, len(src), "template is not valid JSON: %v", se)
	}
	off := max(int(se.Offset)-1, 0)
	// Map the probe offset back to the source: it falls in the text before
	// tag k, in tag k's stand-in, or after the last tag.
	srcOff := off
	for k := range raws {
		switch {
		case off < starts[k]:
			// In the text before tag k: shifted as after tag k-1.
		case places[k] == placeJSONValue && off < starts[k]+len("null"):
			// The probe's null is an artefact: say where, not what.
			why := strings.TrimPrefix(se.Error(), "invalid character 'n' ")
			return newParseError(src, raws[k].start, "tag {{%s}} stands outside any JSON string, where it renders a whole JSON value (null when missing), but a value cannot stand here (%s); put the tag inside quotes to insert it into a string",
				strings.TrimSpace(raws[k].inner), why)
		default:
			srcOff = off + srcAt[k]
			continue
		}
		break
	}
	return newParseError(src, srcOff, "template is not valid JSON: %v", se)
}

// urlPlaces decides, for each tag of a URL template, whether it stands in
// the path (or fragment) or in the query. Tags are refused before the path:
// the scheme and host must be written literally.
func urlPlaces(src string, raws []rawTag) ([]place, error) {
	places := make([]place, len(raws))
	lit := literalOnly(src, raws)
	pathStart := 0
	if n := schemeLen(lit); n > 0 {
		pathStart = len(lit)
		if j := strings.IndexAny(lit[n:], "/?#"); j >= 0 {
			pathStart = n + j
		}
	}
	query, fragment := strings.IndexByte(lit, '?'), strings.IndexByte(lit, '#')
	if fragment >= 0 && query > fragment {
		query = -1 // a "?" in the fragment starts no query
	}
	for k, rt := range raws {
		switch {
		case rt.start < pathStart:
			return nil, newParseError(src, rt.start, "tag {{%s}} is in the scheme or host of the URL: tags may stand only in the path and query, write the scheme and host literally",
				strings.TrimSpace(rt.inner))
		case query >= 0 && rt.start > query && (fragment < 0 || rt.start < fragment):
			places[k] = placeURLQuery
		default:
			places[k] = placeURLPath
		}
	}
	probe := []byte(lit)
	for _, rt := range raws {
		probe[rt.start] = 'x' // each tag stands in as "x"
	}
	if _, err := url.Parse(strings.Map(keepRune, string(probe))); err != nil {
		// The url.Error repeats the URL, which may hold a token: keep only
		// the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, newParseError(src, 0, "not a URL: %v", err)
	}
	return places, nil
}

// schemeLen returns the length of the "scheme://" that starts lit (a
// "://" before any "/", "?" or "#"), or 0 when lit has none.
func schemeLen(lit string) int {
	i := strings.Index(lit, "://")
	if i < 0 || strings.ContainsAny(lit[:i], "/?#") {
		return 0
	}
	return i + 3
}

// literalOnly returns src with every tag's bytes replaced by NUL, so that
// offsets stay those of src and nothing inside a tag is taken for URL
// syntax.
func literalOnly(src string, raws []rawTag) string {
	if len(raws) == 0 {
		return src
	}
	b := []byte(src)
	for _, rt := range raws {
		for i := rt.start; i < rt.end; i++ {
			b[i] = 0
		}
	}
	return string(b)
}

// keepRune drops the NULs literalOnly wrote.
func keepRune(r rune) rune {
	if r == 0 {
		return -1
	}
	return r
}
