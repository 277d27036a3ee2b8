package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Media types of request bodies.
const (
	mediaJSON       = "application/json"
	mediaMergePatch = "application/merge-patch+json"
)

// readBody reads a request body of one of the accepted media types, at
// most Config.MaxBodyBytes of it. optional bodies may be empty (then nil
// is returned and the content type is not checked).
func (a *api) readBody(c *call, optional bool, accept ...string) ([]byte, error) {
	r := c.r
	if optional && r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil, nil
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !slices.Contains(accept, mt) {
		got := "none"
		if ct != "" {
			got = strconv.Quote(truncate(ct, 64))
		}
		return nil, &apiError{
			status:  http.StatusUnsupportedMediaType,
			code:    codeUnsupportedMediaType,
			message: fmt.Sprintf("the body must be sent with Content-Type %s; got %s", strings.Join(accept, " or "), got),
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.w, r.Body, a.cfg.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &apiError{
			status:  http.StatusRequestEntityTooLarge,
			code:    codeBodyTooLarge,
			message: fmt.Sprintf("the body is larger than the limit of %d bytes", a.cfg.MaxBodyBytes),
		}
	case err != nil:
		return nil, badRequest("", "reading the body failed: "+err.Error())
	}
	if optional && len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	return b, nil
}

// decodeStrict decodes b, which must hold exactly one JSON object, into v,
// rejecting fields v does not have.
func decodeStrict(b []byte, v any) error {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return badRequest("", "the body is empty: send a JSON object")
	}
	if trimmed[0] != '{' {
		return badRequest("", "the body must be a JSON object")
	}
	if err := checkExactNames(b, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "the body must hold one JSON object and nothing after it")
	}
	return nil
}

// jsonError turns an encoding/json error into a 400 naming the field when
// it can.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return badRequest("", fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: ")))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "malformed JSON: the body ends before the object does")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return badRequest("", fmt.Sprintf("malformed JSON: a %s cannot be a %s", typ.Value, typ.Type))
		}
		return badRequest(field, fmt.Sprintf("must be %s, got a %s", jsonType(typ.Type.String()), typ.Value))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return badRequest(name, "is not a field of this request; see GET /openapi.json for the accepted fields")
	}
	return badRequest("", "malformed JSON: "+strings.TrimPrefix(err.Error(), "json: "))
}

// jsonType names the JSON form of a Go type for an error message.
func jsonType(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean (true or false)"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["):
		return "an object"
	case goType == "time.Time":
		return "an RFC 3339 time string"
	}
	return "an object"
}

// mergePatch applies an RFC 7396 JSON merge patch to target: members of
// patch replace those of target, null deletes, objects merge recursively.
func mergePatch(target, patch map[string]any) map[string]any {
	if target == nil {
		target = map[string]any{}
	}
	for k, pv := range patch {
		if pv == nil {
			delete(target, k)
			continue
		}
		po, ok := pv.(map[string]any)
		if !ok {
			target[k] = pv
			continue
		}
		to, _ := target[k].(map[string]any)
		target[k] = mergePatch(to, po)
	}
	return target
}

// decodeObject decodes b into a generic JSON object, keeping numbers
// exact.
func decodeObject(b []byte) (map[string]any, error) {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return nil, badRequest("", "the body is empty: send a JSON object")
	}
	if trimmed[0] != '{' {
		return nil, badRequest("", "the body must be a JSON object (a JSON merge patch)")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, jsonError(err)
	}
	if err := checkExactNames(b, reflect.TypeFor[subscriptionIn](), ""); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("", "the body must hold one JSON object and nothing after it")
	}
	return m, nil
}

// queryInt parses an optional integer query parameter within [lo, hi].
func queryInt(c *call, name string, def, lo, hi int) (int, error) {
	raw := c.r.URL.Query().Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, badRequest(name, fmt.Sprintf("must be an integer from %d to %d, got %q", lo, hi, truncate(raw, 32)))
	}
	return n, nil
}

// queryBool parses an optional boolean query parameter.
func queryBool(c *call, name string) (*bool, error) {
	raw := c.r.URL.Query().Get(name)
	if raw == "" {
		return nil, nil
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		return nil, badRequest(name, fmt.Sprintf("must be true or false, got %q", truncate(raw, 32)))
	}
	return &v, nil
}

// page is the JSON shape of a list answer.
type page[T any] struct {
	// Data holds the page's items.
	Data []T `json:"data"`
	// NextCursor, when present, is the cursor parameter for the next
	// page; it is absent on the last page.
	NextCursor string `json:"nextCursor,omitempty"`
}

// checkExactNames reports the first member name of the JSON object raw that
// matches a field of t only when case is ignored: encoding/json accepts
// "URL" for "url", and a merge patch holding "URL" would be lost behind the
// "url" it merges into. Nested objects are checked against their fields.
func checkExactNames(raw json.RawMessage, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil // a type error, reported by the decoder
		}
		for i, it := range items {
			if err := checkExactNames(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Struct:
	default:
		return nil
	}
	if t == reflect.TypeFor[time.Time]() {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		fields[cmp.Or(name, f.Name)] = f.Type
	}
	for k, v := range obj {
		ft, ok := fields[k]
		if !ok {
			for name := range fields {
				if strings.EqualFold(name, k) {
					return badRequest(path+k, fmt.Sprintf("is not a field of this request: names are case-sensitive camelCase; did you mean %q?", name))
				}
			}
			continue // unknown: DisallowUnknownFields names it
		}
		if err := checkExactNames(v, ft, path+k+"."); err != nil {
			return err
		}
	}
	return nil
}
