package httpapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/httpapi"
	"github.com/hooksmith/webhook/store/memstore"
)

// Mount the API under /webhooks/ with an Authorize that maps bearer tokens
// to principals, then create a subscription as an admin.
func ExampleNew() {
	d, err := webhook.NewDispatcher(memstore.New(), nil)
	if err != nil {
		panic(err)
	}
	authorize := func(r *http.Request) (httpapi.Principal, error) {
		switch r.Header.Get("Authorization") {
		case "Bearer admin-token":
			return httpapi.Principal{Tenant: "acme", Role: httpapi.RoleAdmin}, nil
		case "":
			return httpapi.Principal{}, errors.New("send Authorization: Bearer <token>")
		}
		return httpapi.Principal{}, errors.New("unknown token")
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/", http.StripPrefix("/webhooks", httpapi.New(d, &httpapi.Config{Authorize: authorize})))

	send := func(method, path, token, body string) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		var answer struct {
			Tenant, URL, Secret string
			Error               struct {
				Code   string
				Fields []struct{ Field string }
			}
		}
		_ = json.Unmarshal(w.Body.Bytes(), &answer)
		if w.Code >= 400 {
			fmt.Println(w.Code, answer.Error.Code, answer.Error.Fields)
			return
		}
		fmt.Println(w.Code, answer.Tenant, answer.URL, strings.HasPrefix(answer.Secret, "whsec_"))
	}
	send("GET", "/webhooks/subscriptions", "", "")
	send("POST", "/webhooks/subscriptions", "admin-token", `{"url": "https://example.com/hook", "eventTypes": ["order.*"]}`)
	send("POST", "/webhooks/subscriptions", "admin-token", `{"url": "ftp://example.com", "eventTypes": ["order.*"]}`)
	// Output:
	// 401 unauthenticated []
	// 201 acme https://example.com/hook true
	// 422 validation_failed [{url}]
}
