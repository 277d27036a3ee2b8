package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBadInput sends what a client gets wrong to every route that takes a
// body, and checks the status, the code and the fields named.
func TestBadInput(t *testing.T) {
	t.Parallel()
	big := `{"name": "` + strings.Repeat("x", 2048) + `"}`
	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		contentType string // "-" sends none
		status      int
		code        string
		fields      []string
	}{
		{"malformed JSON", "POST", "/subscriptions", `{"url": "https://example.com",`, "", 400, codeBadRequest, nil},
		{"syntax error", "POST", "/subscriptions", `{"url" "x"}`, "", 400, codeBadRequest, nil},
		{"empty body", "POST", "/subscriptions", "", "application/json", 400, codeBadRequest, nil},
		{"array body", "POST", "/subscriptions", `[{"url": "x"}]`, "", 400, codeBadRequest, nil},
		{"null body", "POST", "/subscriptions", `null`, "", 400, codeBadRequest, nil},
		{"trailing data", "POST", "/subscriptions", `{"url": "https://example.com/h", "eventTypes": ["a"]} {}`, "", 400, codeBadRequest, nil},
		{"unknown field", "POST", "/subscriptions", `{"url": "https://example.com/h", "eventTypes": ["a"], "colour": "red"}`, "", 400, codeBadRequest, []string{"colour"}},
		{"unknown nested field", "POST", "/subscriptions", `{"url": "https://example.com/h", "eventTypes": ["a"], "auth": {"bearer": {"token": "t", "tokne": "x"}}}`, "", 400, codeBadRequest, []string{"tokne"}},
		{"wrong type: string for array", "POST", "/subscriptions", `{"url": "https://example.com/h", "eventTypes": "a"}`, "", 400, codeBadRequest, []string{"eventTypes"}},
		{"wrong type: number for string", "POST", "/subscriptions", `{"url": 5, "eventTypes": ["a"]}`, "", 400, codeBadRequest, []string{"url"}},
		{"wrong type: string for bool", "POST", "/subscriptions", `{"url": "https://example.com/h", "eventTypes": ["a"], "disabled": "yes"}`, "", 400, codeBadRequest, []string{"disabled"}},
		{"wrong type: nested", "POST", "/subscriptions", `{"url": "https://example.com/h", "eventTypes": ["a"], "auth": {"bearer": {"token": 1}}}`, "", 400, codeBadRequest, []string{"auth.bearer.token"}},
		{"wrong type: map value", "POST", "/subscriptions", `{"url": "https://example.com/h", "eventTypes": ["a"], "headers": {"X-A": 1}}`, "", 400, codeBadRequest, []string{"headers"}},
		{"missing required fields", "POST", "/subscriptions", `{}`, "", 422, codeValidation, []string{"url", "eventTypes"}},
		{"every bad field listed", "POST", "/subscriptions", `{"url": "ftp://example.com", "eventTypes": ["ok", "", "b c"], "method": "GET", "signatureScheme": "v9", "headers": {"Host": "x"}}`, "", 422, codeValidation,
			[]string{"url", "eventTypes[1]", "eventTypes[2]", "method", "signatureScheme", `headers["Host"]`}},
		{"bad URL", "POST", "/subscriptions", `{"url": "not a url", "eventTypes": ["a"]}`, "", 422, codeValidation, []string{"url"}},
		{"URL with credentials", "POST", "/subscriptions", `{"url": "https://u:p@example.com/h", "eventTypes": ["a"]}`, "", 422, codeValidation, []string{"url"}},
		{"GET method for a subscription", "POST", "/subscriptions", `{"url": "https://example.com/h", "eventTypes": ["a"], "method": "GET"}`, "", 422, codeValidation, []string{"method"}},
		{"bad credentials", "POST", "/subscriptions", `{"url": "https://example.com/h", "eventTypes": ["a"], "auth": {"bearer": {"token": ""}, "basic": {"username": "a:b", "password": "p"}}}`, "", 422, codeValidation,
			[]string{"auth", "auth.bearer.token", "auth.basic.username"}},
		{"credential reference without resolver", "POST", "/subscriptions", `{"url": "https://example.com/h", "eventTypes": ["a"], "auth": {"headers": {"Api-Key": "env://HOME"}}}`, "", 422, codeValidation,
			[]string{`auth.headers["Api-Key"]`}},
		{"id on create", "POST", "/subscriptions", `{"id": "sub_x", "url": "https://example.com/h", "eventTypes": ["a"]}`, "", 422, codeValidation, []string{"id"}},
		{"other tenant on create", "POST", "/subscriptions", `{"tenant": "b", "url": "https://example.com/h", "eventTypes": ["a"]}`, "", 422, codeValidation, []string{"tenant"}},
		{"oversized body", "POST", "/subscriptions", big, "", 413, codeBodyTooLarge, nil},
		{"no content type", "POST", "/subscriptions", `{}`, "-", 415, codeUnsupportedMediaType, nil},
		{"wrong content type", "POST", "/subscriptions", `{}`, "text/plain", 415, codeUnsupportedMediaType, nil},
		{"merge patch content type on POST", "POST", "/subscriptions", `{}`, "application/merge-patch+json", 415, codeUnsupportedMediaType, nil},
		{"JSON with charset", "POST", "/subscriptions", `{}`, "application/json; charset=utf-8", 422, codeValidation, []string{"url", "eventTypes"}},

		{"PUT malformed", "PUT", "/subscriptions/{A}", `{`, "", 400, codeBadRequest, nil},
		{"PUT unknown field", "PUT", "/subscriptions/{A}", `{"urls": []}`, "", 400, codeBadRequest, []string{"urls"}},
		{"PUT missing required", "PUT", "/subscriptions/{A}", `{"name": "x"}`, "", 422, codeValidation, []string{"url", "eventTypes"}},
		{"PUT secret", "PUT", "/subscriptions/{A}", `{"url": "https://example.com/h", "eventTypes": ["a"], "secret": "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, "", 422, codeValidation, []string{"secret"}},
		{"PUT other id", "PUT", "/subscriptions/{A}", `{"id": "sub_other", "url": "https://example.com/h", "eventTypes": ["a"]}`, "", 422, codeValidation, []string{"id"}},
		{"PUT other tenant", "PUT", "/subscriptions/{A}", `{"tenant": "", "url": "https://example.com/h", "eventTypes": ["a"]}`, "", 422, codeValidation, []string{"tenant"}},
		{"PUT oversized", "PUT", "/subscriptions/{A}", big, "", 413, codeBodyTooLarge, nil},
		{"PUT wrong content type", "PUT", "/subscriptions/{A}", `{}`, "application/xml", 415, codeUnsupportedMediaType, nil},

		{"PATCH malformed", "PATCH", "/subscriptions/{A}", `{"name": }`, "application/merge-patch+json", 400, codeBadRequest, nil},
		{"PATCH not an object", "PATCH", "/subscriptions/{A}", `["name"]`, "application/merge-patch+json", 400, codeBadRequest, nil},
		{"PATCH unknown field", "PATCH", "/subscriptions/{A}", `{"nmae": "x"}`, "application/merge-patch+json", 400, codeBadRequest, []string{"nmae"}},
		{"PATCH wrong type", "PATCH", "/subscriptions/{A}", `{"eventTypes": [1]}`, "application/merge-patch+json", 400, codeBadRequest, []string{"eventTypes"}},
		{"PATCH invalid value", "PATCH", "/subscriptions/{A}", `{"method": "GET", "eventTypes": []}`, "application/merge-patch+json", 422, codeValidation, []string{"method", "eventTypes"}},
		{"PATCH removes required", "PATCH", "/subscriptions/{A}", `{"eventTypes": null}`, "application/merge-patch+json", 422, codeValidation, []string{"eventTypes"}},
		{"PATCH secret", "PATCH", "/subscriptions/{A}", `{"secret": "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, "application/merge-patch+json", 422, codeValidation, []string{"secret"}},
		{"PATCH no content type", "PATCH", "/subscriptions/{A}", `{}`, "-", 415, codeUnsupportedMediaType, nil},
		{"PATCH oversized", "PATCH", "/subscriptions/{A}", big, "application/merge-patch+json", 413, codeBodyTooLarge, nil},

		{"publish missing type and data", "POST", "/events", `{}`, "", 422, codeValidation, []string{"type", "data"}},
		{"publish pattern type", "POST", "/events", `{"type": "order.*", "data": {}}`, "", 422, codeValidation, []string{"type"}},
		{"publish unknown field", "POST", "/events", `{"type": "a", "data": {}, "payload": {}}`, "", 400, codeBadRequest, []string{"payload"}},
		{"publish bad timestamp", "POST", "/events", `{"type": "a", "data": {}, "timestamp": "yesterday"}`, "", 400, codeBadRequest, nil},
		{"publish other tenant", "POST", "/events", `{"type": "a", "data": {}, "tenant": "b"}`, "", 422, codeValidation, []string{"tenant"}},
		{"publish oversized", "POST", "/events", `{"type": "a", "data": "` + strings.Repeat("x", 2048) + `"}`, "", 413, codeBodyTooLarge, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, &bundleOpts{cfg: Config{AllowPublish: true, MaxBodyBytes: 1024}})
			path := strings.ReplaceAll(tt.path, "{A}", b.subA.ID)
			w := b.do(t, req{method: tt.method, path: path, token: tokAdminA, body: tt.body, contentType: tt.contentType})
			e := requireError(t, w, tt.status, tt.code, tt.fields...)
			if tt.fields == nil {
				require.Empty(t, e.Fields)
			}
			// Nothing changed.
			got := decodeAs[subscriptionOut](t, b.do(t, req{method: "GET", path: "/subscriptions/" + b.subA.ID, token: tokAdminA}))
			require.Equal(t, b.subA.UpdatedAt.UTC(), got.UpdatedAt.UTC())
		})
	}
}

// TestBadQuery checks the query parameters of the lists.
func TestBadQuery(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tests := []struct {
		path  string
		field string
	}{
		{"/subscriptions?limit=0", "limit"},
		{"/subscriptions?limit=1001", "limit"},
		{"/subscriptions?limit=ten", "limit"},
		{"/subscriptions?disabled=maybe", "disabled"},
		{"/subscriptions/{A}/deliveries?state=lost", "state"},
		{"/subscriptions/{A}/deliveries?limit=-1", "limit"},
		{"/subscriptions/{A}/deliveries?since=today", "since"},
		{"/subscriptions/{A}/deliveries?until=1700000000", "until"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			w := b.do(t, req{method: "GET", path: strings.ReplaceAll(tt.path, "{A}", b.subA.ID), token: tokAdminA})
			requireError(t, w, http.StatusBadRequest, codeBadRequest, tt.field)
		})
	}
}

// TestRouting checks unknown paths and methods.
func TestRouting(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/nope", 404, ""},
		{"GET", "/subscriptions/{A}/nope", 404, ""},
		{"GET", "/subscriptions/", 404, ""},
		{"POST", "/events", 405, "GET, HEAD"}, // publishing is off
		{"DELETE", "/subscriptions", 405, "POST, GET, HEAD"},
		{"POST", "/subscriptions/{A}", 405, "GET, HEAD, PUT, PATCH, DELETE"},
		{"GET", "/subscriptions/{A}/enable", 405, "POST"},
		{"GET", "/subscriptions/{A}/rotate-secret", 405, "POST"},
		{"PUT", "/deliveries/x", 405, "GET, HEAD"},
		{"GET", "/deliveries/x/retry", 405, "POST"},
		{"POST", "/openapi.json", 405, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			w := b.do(t, req{method: tt.method, path: strings.ReplaceAll(tt.path, "{A}", b.subA.ID), token: tokAdminA})
			if tt.status == 405 {
				requireError(t, w, 405, codeMethodNotAllowed)
				require.Equal(t, tt.allow, w.Header().Get("Allow"))
				return
			}
			requireError(t, w, tt.status, codeNotFound)
		})
	}
}

// JSON names are case-sensitive camelCase: a name that differs only in
// case is refused, in a body and in a merge patch, never half-applied.
func TestWrongCaseNamesAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	w := b.do(t, req{method: "POST", path: "/subscriptions", token: tokAdminA,
		body: `{"URL": "https://example.com/h", "EventTypes": ["a"]}`})
	require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "case-sensitive")

	w = b.do(t, req{method: "PATCH", path: "/subscriptions/" + b.subA.ID, token: tokAdminA,
		body: `{"Name": "renamed", "Disabled": true}`, contentType: mediaMergePatch})
	require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	got, err := b.d.SubscriptionGet(t.Context(), b.subA.ID)
	require.NoError(t, err)
	require.False(t, got.Disabled)
}
