package tmpl

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the appenders that write a value into the output with the
// escaping its place needs. They append to dst and never allocate beyond
// growing it.

const hexDigits = "0123456789ABCDEF"

// text is what the appenders accept: a Go string (a header value) or bytes
// (a span of the event data).
type text interface{ ~string | ~[]byte }

// appendJSONEscaped appends s as the content of a JSON string: quotes,
// backslashes and control characters are escaped, invalid UTF-8 becomes
// U+FFFD. The result is valid between two double quotes.
func appendJSONEscaped[T text](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			var b [utf8.UTFMax]byte
			r, size := utf8.DecodeRune(b[:copy(b[:], s[i:])])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendEscapedByte(dst, c)
		i++
		start = i
	}
	return append(dst, s[start:]...)
}

// appendEscapedByte appends the JSON escape of an ASCII byte that cannot
// appear as-is in a JSON string.
func appendEscapedByte(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// appendJSONStringContent appends raw, the content of a JSON string as it
// stands in the data (between its quotes, escapes not decoded), so that it
// is valid inside another JSON string and denotes the same text. Valid
// escapes are kept as written; anything that could not stand in a JSON
// string (a stray backslash or quote, a control character, invalid UTF-8,
// possible only in malformed data) is escaped.
func appendJSONStringContent(dst, raw []byte) []byte {
	start := 0
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			if n := validEscapeLen(raw[i:]); n > 0 {
				i += n
				continue
			}
		case c >= 0x20 && c < utf8.RuneSelf && c != '"':
			i++
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(raw[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, raw[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, raw[start:i]...)
		dst = appendEscapedByte(dst, c)
		i++
		start = i
	}
	return append(dst, raw[start:]...)
}

// validEscapeLen returns the length of the JSON escape sequence at the
// start of s (s[0] == '\\'), or 0 when it is not a valid one.
func validEscapeLen(s []byte) int {
	if len(s) < 2 {
		return 0
	}
	switch s[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if _, ok := hex4(s[2:]); ok {
			return 6
		}
	}
	return 0
}

// hex4 decodes the four hex digits at the start of s.
func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendUnquoted appends the text a JSON string's raw content denotes:
// escapes are decoded, a lone or mismatched surrogate becomes U+FFFD as
// encoding/json does. An invalid escape (malformed data) is kept as
// written.
func appendUnquoted(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			return append(dst, raw[i:]...)
		}
		dst = append(dst, raw[i:i+j]...)
		i += j
		if validEscapeLen(raw[i:]) == 0 {
			dst = append(dst, '\\')
			i++
			continue
		}
		c := raw[i+1]
		i += 2
		switch c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(raw[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(utf8.RuneError)
				if len(raw)-i >= 6 && raw[i] == '\\' && raw[i+1] == 'u' {
					r2, _ = hex4(raw[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, c)
		}
	}
	return dst
}

// appendQueryEscaped appends s escaped for a URL query or a form body, as
// url.QueryEscape does: letters, digits and "-_.~" stay, a space becomes
// "+", every other byte becomes %XX.
func appendQueryEscaped[T text](dst []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isUnreserved(c):
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return dst
}

// appendPathEscaped appends s escaped as one URL path segment, as
// url.PathEscape does ("/", "?", spaces and the like become %XX), and
// besides escapes the dots of "." and "..", so that a value can never
// climb the path.
func appendPathEscaped[T text](dst []byte, s T) []byte {
	if string(s) == "." || string(s) == ".." {
		for range len(s) {
			dst = append(dst, "%2E"...)
		}
		return dst
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || isPathSafe(c) {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

// isUnreserved reports whether c is unreserved in a URL (RFC 3986 2.3).
func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// isPathSafe reports whether c, a reserved character, may stand unescaped
// in a path segment; the set is url.PathEscape's.
func isPathSafe(c byte) bool {
	switch c {
	case '$', '&', '+', ':', '=', '@':
		return true
	}
	return false
}
