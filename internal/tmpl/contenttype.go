package tmpl

import (
	"fmt"
	"mime"
	"strings"
)

// ContentType is the kind of body a template renders. It decides how tag
// values are escaped. The zero value is JSON.
type ContentType int

// The content types a body template can render.
const (
	// JSON renders application/json: values are JSON-escaped inside strings
	// and inserted as whole JSON values elsewhere.
	JSON ContentType = iota
	// Text renders text/plain: values are inserted as they are.
	Text
	// Form renders application/x-www-form-urlencoded: values are
	// query-escaped.
	Form
)

// The MIME types of the content types, as String returns them.
const (
	mimeJSON = "application/json"
	mimeText = "text/plain"
	mimeForm = "application/x-www-form-urlencoded"
)

// ParseContentType returns the ContentType of a MIME type. It accepts
// "application/json" (and "", which means JSON), "text/plain" and
// "application/x-www-form-urlencoded", in any letter case and with or
// without parameters such as "; charset=utf-8".
func ParseContentType(s string) (ContentType, error) {
	if strings.TrimSpace(s) == "" {
		return JSON, nil
	}
	mt, _, err := mime.ParseMediaType(s)
	if err != nil {
		return JSON, fmt.Errorf("content type %q is not a MIME type (%v): use %q, %q or %q", s, err, mimeJSON, mimeText, mimeForm)
	}
	switch mt {
	case mimeJSON:
		return JSON, nil
	case mimeText:
		return Text, nil
	case mimeForm:
		return Form, nil
	}
	return JSON, fmt.Errorf("content type %q is not supported by templates: use %q, %q or %q", s, mimeJSON, mimeText, mimeForm)
}

// String returns the MIME type without parameters, for example
// "text/plain"; the caller adds any parameter it wants in Content-Type.
func (c ContentType) String() string {
	switch c {
	case JSON:
		return mimeJSON
	case Text:
		return mimeText
	case Form:
		return mimeForm
	}
	return fmt.Sprintf("ContentType(%d)", int(c))
}
