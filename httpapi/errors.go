package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode"

	"github.com/hooksmith/webhook"
)

// The error codes of the JSON error shape, one per kind of failure.
const (
	codeBadRequest           = "bad_request"            // 400: malformed JSON, unknown field, wrong type, bad query parameter
	codeUnauthenticated      = "unauthenticated"        // 401
	codeForbidden            = "forbidden"              // 403
	codeNotFound             = "not_found"              // 404
	codeMethodNotAllowed     = "method_not_allowed"     // 405
	codeDeliveryPending      = "delivery_pending"       // 409
	codeConcurrentPoll       = "concurrent_poll"        // 409
	codeNotPull              = "not_pull_subscription"  // 409
	codeCursorExpired        = "cursor_expired"         // 410
	codeBodyTooLarge         = "body_too_large"         // 413
	codeUnsupportedMediaType = "unsupported_media_type" // 415
	codeValidation           = "validation_failed"      // 422
	codeInternal             = "internal"               // 500
)

// errorBody is the one JSON shape of every error answer:
//
//	{"error": {"code": "...", "message": "...", "fields": [{"field": "...", "message": "..."}]}}
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Fields  []fieldError `json:"fields,omitempty"`
}

// fieldError names one bad field by its JSON path, such as
// "eventTypes[2]" or "auth.bearer.token".
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// apiError is an error with its HTTP answer.
type apiError struct {
	status  int
	code    string
	message string
	fields  []fieldError
}

func (e *apiError) Error() string { return e.message }

// badRequest is a 400 about one field or query parameter.
func badRequest(field, msg string) *apiError {
	e := &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: msg}
	if field != "" {
		e.message = field + ": " + msg
		e.fields = []fieldError{{Field: field, Message: msg}}
	}
	return e
}

// invalid is a 422 listing bad fields.
func invalid(what string, fields ...fieldError) *apiError {
	msgs := make([]string, len(fields))
	for i, f := range fields {
		msgs[i] = f.Field + ": " + f.Message
	}
	return &apiError{
		status:  http.StatusUnprocessableEntity,
		code:    codeValidation,
		message: "invalid " + what + ": " + strings.Join(msgs, "; "),
		fields:  fields,
	}
}

// notFound is the 404 for a missing resource, and for another tenant's,
// which must look the same.
func notFound(what, id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: codeNotFound, message: what + " " + truncate(id, 64) + " not found"}
}

// forbidden is the 403 for a user's access to a subscription not listed
// for it.
func forbidden(subscriptionID string) *apiError {
	return &apiError{
		status:  http.StatusForbidden,
		code:    codeForbidden,
		message: "subscription " + truncate(subscriptionID, 64) + " is not one of yours: ask an admin of your tenant for access",
	}
}

// toAPIError maps an error of the Dispatcher (or of this package) to its
// answer. Unknown errors are 500s; ok is false for them so that the
// caller logs the cause.
func toAPIError(err error) (e *apiError, ok bool) {
	var ae *apiError
	var ve *webhook.ValidationError
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &ve):
		fields := make([]fieldError, len(ve.Fields))
		for i, f := range ve.Fields {
			fields[i] = fieldError{Field: jsonPath(f.Field), Message: f.Message}
		}
		return invalid(ve.What, fields...), true
	case errors.Is(err, webhook.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: codeNotFound, message: "not found"}, true
	case errors.Is(err, webhook.ErrDeliveryPending):
		return &apiError{status: http.StatusConflict, code: codeDeliveryPending, message: "the delivery is still pending: it will be attempted without a retry"}, true
	}
	return &apiError{status: http.StatusInternalServerError, code: codeInternal, message: "internal error: the server logged the cause"}, false
}

// writeError answers err in the JSON error shape.
func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := toAPIError(err)
	if !ok && r.Context().Err() == nil { // else the client is gone: nothing went wrong here.
		a.cfg.Logger.ErrorContext(r.Context(), "management API request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", a.cfg.Challenge)
	}
	a.writeJSON(w, e.status, errorBody{Error: errorDetail{Code: e.code, Message: e.message, Fields: e.fields}})
}

// writeJSON answers status with body as JSON, or no body when body is nil.
func (a *api) writeJSON(w http.ResponseWriter, status int, body any) {
	h := w.Header()
	h.Set("Cache-Control", "no-store") // answers may carry secrets.
	h.Set("X-Content-Type-Options", "nosniff")
	if body == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		// Only values of this package are marshalled; they cannot fail.
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error: encoding the answer failed"}}`)
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// jsonPath turns a Go field path of a webhook.FieldError into the JSON
// path of this API: "EventTypes[2]" becomes "eventTypes[2]",
// "Auth.Bearer.Token" "auth.bearer.token", `Headers["X-A"]` stays
// `headers["X-A"]`.
func jsonPath(goPath string) string {
	var b strings.Builder
	start := true // at the start of a path segment
	inQuote := false
	for i := 0; i < len(goPath); i++ {
		c := goPath[i]
		switch {
		case inQuote:
			b.WriteByte(c)
			if c == '\\' && i+1 < len(goPath) {
				i++
				b.WriteByte(goPath[i])
			} else if c == '"' {
				inQuote = false
			}
			continue
		case c == '"':
			inQuote = true
		case c == '.':
			start = true
			b.WriteByte(c)
			continue
		case start && c >= 'A' && c <= 'Z':
			j := i
			for j < len(goPath) && goPath[j] >= 'A' && goPath[j] <= 'Z' {
				j++
			}
			// An initialism ("URL", "ID") is lowered whole; before a
			// lowercase letter its last capital starts the next word
			// ("URLPath" -> "urlPath").
			if j < len(goPath) && unicode.IsLower(rune(goPath[j])) && j-i > 1 {
				j--
			}
			if j == i {
				j++
			}
			b.WriteString(strings.ToLower(goPath[i:j]))
			i = j - 1
			start = false
			continue
		}
		start = false
		b.WriteByte(c)
	}
	return b.String()
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
