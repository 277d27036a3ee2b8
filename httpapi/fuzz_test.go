package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// FuzzRequestBody sends arbitrary bodies and content types to every route
// that reads a body. Whatever comes in, the answer is one of the
// documented statuses, never a 500, and an error answer has the one JSON
// error shape.
func FuzzRequestBody(f *testing.F) {
	for _, seed := range []struct {
		route       uint8
		contentType string
		body        string
	}{
		{0, "application/json", `{"url": "https://example.com/h", "eventTypes": ["a.*"]}`},
		{0, "application/json", `{"url": 1}`},
		{0, "application/json", `{"auth": {"bearer": {"token": "t"}, "basic": null}, "headers": {"X": "1"}}`},
		{0, "text/plain", `{}`},
		{1, "application/json", `{"url": "https://example.com/h", "eventTypes": ["a"], "id": "x"}`},
		{2, "application/merge-patch+json", `{"name": null, "headers": {"A": null}, "auth": {"bearer": {"scheme": "Token"}}}`},
		{2, "application/merge-patch+json", `{"eventTypes": [1, 2]}`},
		{2, "application/merge-patch+json", `[]`},
		{3, "application/json", `{"type": "a", "data": {"x": [1, 2]}}`},
		{3, "application/json", `{"type": "a", "data": `},
		{4, "application/json", `{"cursor": "oldest", "reset": true}`},
		{5, "application/json", `{"secret": "whsec_AAAA"}`},
		{5, "", ``},
	} {
		f.Add(seed.route, seed.contentType, []byte(seed.body))
	}
	b := setup(f, &bundleOpts{cfg: Config{AllowPublish: true, MaxBodyBytes: 4096}})
	routes := []struct{ method, path string }{
		{"POST", "/subscriptions"},
		{"PUT", "/subscriptions/" + b.subA.ID},
		{"PATCH", "/subscriptions/" + b.subA.ID},
		{"POST", "/events"},
		{"PUT", "/subscriptions/" + b.subA.ID + "/cursor"},
		{"POST", "/subscriptions/" + b.subA.ID + "/rotate-secret"},
	}
	allowed := []int{200, 201, 202, 204, 400, 409, 413, 415, 422}
	f.Fuzz(func(t *testing.T, route uint8, contentType string, body []byte) {
		rt := routes[int(route)%len(routes)]
		if strings.ContainsAny(contentType, "\r\n\x00") {
			return // not a header value a client can send
		}
		if contentType == "" {
			contentType = "-"
		}
		w := b.do(t, req{method: rt.method, path: rt.path, token: tokAdminA, body: string(body), contentType: contentType})
		if !slices.Contains(allowed, w.Code) {
			t.Fatalf("%s %s answered %d: %s", rt.method, rt.path, w.Code, w.Body.String())
		}
		if w.Code < 400 {
			return
		}
		var e errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s %s answered %d without the error shape: %s", rt.method, rt.path, w.Code, w.Body.String())
		}
		for _, fe := range e.Error.Fields {
			if fe.Field == "" || fe.Message == "" {
				t.Fatalf("an empty field error: %s", w.Body.String())
			}
		}
		if w.Code == http.StatusUnauthorized {
			t.Fatal("the admin was not authenticated")
		}
	})
}
