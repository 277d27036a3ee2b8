package tmpl

import (
	"bytes"

	"github.com/hooksmith/webhook/internal/swar"
)

// This file finds the value a Body path names in the raw JSON bytes of the
// event data without decoding it: no maps, no interface values, no
// allocations. The data is valid JSON (the event layer checks it); the
// scanner still never reads out of bounds on malformed input and reports it.

// lookupResult tells what lookup found.
type lookupResult uint8

const (
	lookupFound     lookupResult = iota
	lookupMissing                // a key or index does not exist, or a segment goes into a scalar
	lookupMalformed              // the data is not valid JSON where the path goes
)

// segment is one step of a Body path: an object key, and the array index it
// also denotes when it is a decimal number (index is -1 otherwise).
type segment struct {
	key   string
	index int
}

// lookup returns the span d[start:end] of the value at path, path being
// empty for the whole document. scratch holds decoded keys that contain
// escapes; the grown buffer is returned for reuse. Render does the same
// with step, sharing the steps of common prefixes between tags.
func lookup(d []byte, path []segment, scratch []byte) (start, end int, res lookupResult, _ []byte) {
	i := skipWS(d, 0)
	for _, seg := range path {
		if i, res, scratch = step(d, i, seg, scratch); res != lookupFound {
			return 0, 0, res, scratch
		}
	}
	if end = skipValue(d, i); end < 0 {
		return 0, 0, lookupMalformed, scratch
	}
	return i, end, lookupFound, scratch
}

// step returns the offset of the value that seg names in the container
// starting at d[i]. Duplicate object keys: the first one wins.
func step(d []byte, i int, seg segment, scratch []byte) (int, lookupResult, []byte) {
	if i >= len(d) {
		return 0, lookupMalformed, scratch
	}
	switch d[i] {
	case '{':
		return findKey(d, i, seg.key, scratch)
	case '[':
		if seg.index < 0 {
			return 0, lookupMissing, scratch
		}
		i, res := findIndex(d, i, seg.index)
		return i, res, scratch
	}
	return 0, lookupMissing, scratch
}

// findKey looks for key in the object starting at d[i] == '{' and returns
// the offset of its value.
func findKey(d []byte, i int, key string, scratch []byte) (int, lookupResult, []byte) {
	i = skipWS(d, i+1)
	if i < len(d) && d[i] == '}' {
		return 0, lookupMissing, scratch
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return 0, lookupMalformed, scratch
		}
		kEnd := skipString(d, i)
		if kEnd < 0 {
			return 0, lookupMalformed, scratch
		}
		raw := d[i+1 : kEnd-1]
		var match bool
		if bytes.IndexByte(raw, '\\') < 0 {
			match = string(raw) == key
		} else {
			scratch = appendUnquoted(scratch[:0], raw)
			match = string(scratch) == key
		}
		i = skipWS(d, kEnd)
		if i >= len(d) || d[i] != ':' {
			return 0, lookupMalformed, scratch
		}
		i = skipWS(d, i+1)
		if match {
			return i, lookupFound, scratch
		}
		if i = skipValue(d, i); i < 0 {
			return 0, lookupMalformed, scratch
		}
		i = skipWS(d, i)
		if i >= len(d) {
			return 0, lookupMalformed, scratch
		}
		switch d[i] {
		case ',':
			i = skipWS(d, i+1)
		case '}':
			return 0, lookupMissing, scratch
		default:
			return 0, lookupMalformed, scratch
		}
	}
}

// findIndex returns the offset of element n of the array starting at
// d[i] == '['.
func findIndex(d []byte, i, n int) (int, lookupResult) {
	i = skipWS(d, i+1)
	if i < len(d) && d[i] == ']' {
		return 0, lookupMissing
	}
	for k := 0; ; k++ {
		if i >= len(d) {
			return 0, lookupMalformed
		}
		if k == n {
			return i, lookupFound
		}
		if i = skipValue(d, i); i < 0 {
			return 0, lookupMalformed
		}
		i = skipWS(d, i)
		if i >= len(d) {
			return 0, lookupMalformed
		}
		switch d[i] {
		case ',':
			i = skipWS(d, i+1)
		case ']':
			return 0, lookupMissing
		default:
			return 0, lookupMalformed
		}
	}
}

// skipWS returns the offset of the first non-space byte at or after i.
func skipWS(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the offset just past the string starting at
// d[i] == '"', or -1 when it is not terminated. Event strings are mostly
// short, so a plain loop beats bytes.IndexByte's call overhead here.
func skipString(d []byte, i int) int {
	for i++; i < len(d); i++ {
		switch d[i] {
		case '"':
			return i + 1
		case '\\':
			i++ // the escaped byte; \uXXXX's digits need no care
		}
	}
	return -1
}

// skipValue returns the offset just past the value starting at d[i], or -1
// when there is no well-formed value there.
func skipValue(d []byte, i int) int {
	if i >= len(d) {
		return -1
	}
	switch d[i] {
	case '"':
		return skipString(d, i)
	case '{', '[':
		depth := 0
		for i < len(d) {
			switch d[i] {
			case '"':
				if i = skipString(d, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	j := i
	for j < len(d) && isScalarByte(d[j]) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// isScalarByte reports whether c can be part of a number, true, false or
// null.
func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '+' || c == '-'
}

// validValue reports whether raw, a span skipValue found, is a valid JSON
// value, as json.Valid would, without its per-call and per-byte overhead.
func validValue(raw []byte) bool {
	i, ok := validAt(raw, 0, 0)
	return ok && i == len(raw)
}

// maxDepth is the deepest nesting accepted, encoding/json's limit.
const maxDepth = 10000

// validAt checks the JSON value at d[i] and returns the offset just past
// it. depth is the number of containers around it.
func validAt(d []byte, i, depth int) (int, bool) {
	if i >= len(d) {
		return i, false
	}
	switch c := d[i]; c {
	case '"':
		return validStringAt(d, i)
	case '{', '[':
		if depth >= maxDepth {
			return i, false
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipWS(d, i+1)
		if i < len(d) && d[i] == closing {
			return i + 1, true
		}
		for {
			var ok bool
			if c == '{' {
				if i >= len(d) || d[i] != '"' {
					return i, false
				}
				if i, ok = validStringAt(d, i); !ok {
					return i, false
				}
				if i = skipWS(d, i); i >= len(d) || d[i] != ':' {
					return i, false
				}
				i = skipWS(d, i+1)
			}
			if i, ok = validAt(d, i, depth+1); !ok {
				return i, false
			}
			switch i = skipWS(d, i); {
			case i >= len(d):
				return i, false
			case d[i] == closing:
				return i + 1, true
			case d[i] != ',':
				return i, false
			}
			i = skipWS(d, i+1)
		}
	case 't':
		return literalAt(d, i, "true")
	case 'f':
		return literalAt(d, i, "false")
	case 'n':
		return literalAt(d, i, "null")
	}
	j := i
	for j < len(d) && (d[j] >= '0' && d[j] <= '9' || d[j] == '-' || d[j] == '+' || d[j] == '.' || d[j] == 'e' || d[j] == 'E') {
		j++
	}
	return j, validNumber(d[i:j])
}

// validStringAt checks the string starting at d[i] == '"': no control
// characters, valid escapes. Like encoding/json it does not check UTF-8.
func validStringAt(d []byte, i int) (int, bool) {
	for i++; i < len(d); i++ {
		// Skip eight ordinary bytes at a time.
		for i+8 <= len(d) {
			if x := swar.Load(d, i); swar.HasLess(x, 0x20) || swar.HasByte(x, '"') || swar.HasByte(x, '\\') {
				break
			}
			i += 8
		}
		if i >= len(d) {
			break
		}
		switch c := d[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			n := validEscapeLen(d[i:])
			if n == 0 {
				return i, false
			}
			i += n - 1
		case c < 0x20:
			return i, false
		}
	}
	return i, false
}

// literalAt checks that d holds lit at i.
func literalAt(d []byte, i int, lit string) (int, bool) {
	if len(d)-i >= len(lit) && string(d[i:i+len(lit)]) == lit {
		return i + len(lit), true
	}
	return i, false
}

// validNumber reports whether s is a JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		j := skipDigits(s, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}

// skipDigits returns the offset of the first non-digit at or after i.
func skipDigits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// Valid reports whether data is one valid JSON value, with optional white
// space around it: json.Valid's answer, faster. The fuzz test
// FuzzValidValue holds the two to the same answers.
func Valid(data []byte) bool {
	i := skipWS(data, 0)
	end, ok := validAt(data, i, 0)
	return ok && skipWS(data, end) == len(data)
}
