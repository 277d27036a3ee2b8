package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

func TestSubscriptionCreate(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	w := b.do(t, req{method: "POST", path: "/subscriptions", token: tokAdminA, body: `{
		"name": "orders", "url": "https://example.com/hook?key=abc", "eventTypes": ["order.*"],
		"headers": {"X-Team": "sales"}, "metadata": {"owner": "ann"},
		"auth": {"basic": {"username": "u", "password": "p"}}
	}`})
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	created := decodeAs[subscriptionOut](t, w)
	require.True(t, strings.HasPrefix(created.Secret, "whsec_"), "the create answer carries the secret")
	require.Equal(t, "subscriptions/"+created.ID, w.Header().Get("Location"))
	require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	require.Equal(t, "a", created.Tenant)
	require.Equal(t, "POST", created.Method)
	require.Equal(t, "v1", created.SignatureScheme)
	require.Equal(t, "redacted", created.Auth.Basic.Password)
	require.NotContains(t, w.Body.String(), `"p"`)

	// The JSON names are camelCase and the secret is never answered again.
	var raw map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &raw))
	for _, k := range []string{"id", "tenant", "name", "url", "method", "eventTypes", "secret", "headers", "contentType", "signatureScheme", "disabled", "metadata", "createdAt", "updatedAt", "auth"} {
		require.Contains(t, raw, k)
	}
	for _, path := range []string{"/subscriptions/" + created.ID, "/subscriptions"} {
		w = b.do(t, req{method: "GET", path: path, token: tokAdminA})
		require.Equal(t, http.StatusOK, w.Code)
		require.NotContains(t, w.Body.String(), created.Secret)
		require.NotContains(t, w.Body.String(), `"secret"`)
		require.NotContains(t, w.Body.String(), "abc")
	}
	got := decodeAs[subscriptionOut](t, b.do(t, req{method: "GET", path: "/subscriptions/" + created.ID, token: tokAdminA}))
	require.Equal(t, "https://example.com/hook?key=redacted", got.URL)
	require.Equal(t, map[string]string{"X-Team": "sales"}, got.Headers)
}

func TestSubscriptionCreateWithSecretAndScheme(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	secret := webhook.NewSecret()
	w := b.do(t, req{method: "POST", path: "/subscriptions", token: tokAdminA, body: mustJSON(t, map[string]any{
		"url": "https://example.com/hook", "eventTypes": []string{"a"}, "secret": secret,
	})})
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	require.Equal(t, secret, decodeAs[subscriptionOut](t, w).Secret)

	w = b.do(t, req{method: "POST", path: "/subscriptions", token: tokAdminA, body: `{"url": "https://example.com/hook", "eventTypes": ["a"], "signatureScheme": "v1a"}`})
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	s := decodeAs[subscriptionOut](t, w)
	require.True(t, strings.HasPrefix(s.Secret, "whsk_"))
	require.True(t, strings.HasPrefix(s.PublicKey, "whpk_"))
}

// TestSubscriptionPutRoundTrip edits a GET answer and sends it back: the
// redacted credentials keep their stored values, as a delivery shows.
func TestSubscriptionPutRoundTrip(t *testing.T) {
	t.Parallel()
	got := make(chan *http.Request, 1)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r
	}))
	t.Cleanup(rcv.Close)
	b := setup(t, &bundleOpts{subURL: rcv.URL + "/hook?key=k1"})

	w := b.do(t, req{method: "GET", path: "/subscriptions/" + b.subA.ID, token: tokAdminA})
	require.Equal(t, http.StatusOK, w.Code)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
	require.Equal(t, "redacted", doc["auth"].(map[string]any)["bearer"].(map[string]any)["token"])
	doc["name"] = "renamed"
	doc["eventTypes"] = []string{"order.created", "order.paid"}

	w = b.do(t, req{method: "PUT", path: "/subscriptions/" + b.subA.ID, token: tokAdminA, body: mustJSON(t, doc)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	s := decodeAs[subscriptionOut](t, w)
	require.Equal(t, "renamed", s.Name)
	require.Equal(t, []string{"order.created", "order.paid"}, s.EventTypes)
	require.Empty(t, s.Secret)
	require.Equal(t, b.subA.CreatedAt.UTC(), s.CreatedAt.UTC())

	b.start(t)
	b.publish(t, "a", "order.paid")
	r := <-got
	require.Equal(t, "Bearer s3cret-token", r.Header.Get("Authorization"))
	require.Equal(t, "k1", r.URL.Query().Get("key"))
	require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)
}

func TestSubscriptionPutReplaces(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	w := b.do(t, req{method: "PUT", path: "/subscriptions/" + b.subA.ID, token: tokAdminA, body: `{"url": "https://example.com/new", "eventTypes": ["x"]}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	s := decodeAs[subscriptionOut](t, w)
	require.Equal(t, "https://example.com/new", s.URL)
	require.Empty(t, s.Name, "omitted fields take their defaults")
	require.Nil(t, s.Auth)
	require.Equal(t, b.subA.ID, s.ID)
	require.Equal(t, "a", s.Tenant)
}

func TestSubscriptionPatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		patch       string
		check       func(t *testing.T, s subscriptionOut)
	}{
		{"rename", "application/merge-patch+json", `{"name": "renamed"}`, func(t *testing.T, s subscriptionOut) {
			require.Equal(t, "renamed", s.Name)
			require.Equal(t, []string{"order.*"}, s.EventTypes, "other fields stay")
			require.Equal(t, "redacted", s.Auth.Bearer.Token, "credentials stay")
		}},
		{"plain JSON content type", "application/json", `{"description": "d"}`, func(t *testing.T, s subscriptionOut) {
			require.Equal(t, "d", s.Description)
		}},
		{"null removes", "", `{"name": null, "auth": null}`, func(t *testing.T, s subscriptionOut) {
			require.Empty(t, s.Name)
			require.Nil(t, s.Auth)
		}},
		{"objects merge", "", `{"headers": {"X-A": "1", "X-B": "2"}, "metadata": {"k": "v"}}`, func(t *testing.T, s subscriptionOut) {
			require.Equal(t, map[string]string{"X-A": "1", "X-B": "2"}, s.Headers)
			require.Equal(t, map[string]string{"k": "v"}, s.Metadata)
		}},
		{"nested credential change", "", `{"auth": {"bearer": {"scheme": "Token"}}}`, func(t *testing.T, s subscriptionOut) {
			require.Equal(t, "Token", s.Auth.Bearer.Scheme)
			require.Equal(t, "redacted", s.Auth.Bearer.Token)
		}},
		{"disable", "", `{"disabled": true}`, func(t *testing.T, s subscriptionOut) {
			require.True(t, s.Disabled)
		}},
		{"own id and tenant accepted", "", `{"id": "{A}", "tenant": "a", "createdAt": "2000-01-01T00:00:00Z", "publicKey": "x"}`, func(t *testing.T, s subscriptionOut) {
			require.NotEqual(t, 2000, s.CreatedAt.Year(), "read-only fields are ignored")
			require.Empty(t, s.PublicKey)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			ct := tt.contentType
			if ct == "" {
				ct = "application/merge-patch+json"
			}
			patch := strings.ReplaceAll(tt.patch, "{A}", b.subA.ID)
			w := b.do(t, req{method: "PATCH", path: "/subscriptions/" + b.subA.ID, token: tokUserA, body: patch, contentType: ct})
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			s := decodeAs[subscriptionOut](t, w)
			tt.check(t, s)
			// What was answered is what is stored.
			w = b.do(t, req{method: "GET", path: "/subscriptions/" + b.subA.ID, token: tokUserA})
			require.Equal(t, s, decodeAs[subscriptionOut](t, w))
		})
	}
}

func TestSubscriptionPatchSecretAfterRotation(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	w := b.do(t, req{method: "POST", path: "/subscriptions/" + b.subA.ID + "/rotate-secret", token: tokAdminA})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	rotated := decodeAs[subscriptionOut](t, w)
	require.NotNil(t, rotated.PreviousSecretExpiresAt)

	// A GET answer after a rotation carries previousSecretExpiresAt; it
	// can still be sent back as it is.
	w = b.do(t, req{method: "GET", path: "/subscriptions/" + b.subA.ID, token: tokAdminA})
	w = b.do(t, req{method: "PUT", path: "/subscriptions/" + b.subA.ID, token: tokAdminA, body: w.Body.String()})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, rotated.PreviousSecretExpiresAt.UTC(), decodeAs[subscriptionOut](t, w).PreviousSecretExpiresAt.UTC())
}

func TestSubscriptionDelete(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	dlv := b.publish(t, "a", "order.created").DeliveryIDs[0]
	w := b.do(t, req{method: "DELETE", path: "/subscriptions/" + b.subA.ID, token: tokAdminA})
	require.Equal(t, http.StatusNoContent, w.Code)
	require.Empty(t, w.Body.String())

	w = b.do(t, req{method: "GET", path: "/subscriptions/" + b.subA.ID, token: tokAdminA})
	requireError(t, w, http.StatusNotFound, codeNotFound)
	w = b.do(t, req{method: "DELETE", path: "/subscriptions/" + b.subA.ID, token: tokAdminA})
	requireError(t, w, http.StatusNotFound, codeNotFound)

	// Its deliveries stay listed, cancelled, for the admin and for the
	// user it was listed for; another tenant, and a user it was not listed
	// for, find nothing.
	for _, tok := range []string{tokAdminA, tokUserA} {
		w = b.do(t, req{method: "GET", path: "/subscriptions/" + b.subA.ID + "/deliveries", token: tok})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		ds := decodeAs[page[deliveryOut]](t, w).Data
		require.Len(t, ds, 1)
		require.Equal(t, dlv, ds[0].ID)
		require.Equal(t, "canceled", ds[0].State)
	}
	w = b.do(t, req{method: "GET", path: "/subscriptions/" + b.subA.ID + "/deliveries", token: tokAdminB})
	requireError(t, w, http.StatusNotFound, codeNotFound)
	w = b.do(t, req{method: "GET", path: "/subscriptions/" + b.subA.ID + "/deliveries", token: tokNoneA})
	requireError(t, w, http.StatusNotFound, codeNotFound)
}

func TestSubscriptionRotateSecret(t *testing.T) {
	t.Parallel()
	given := webhook.NewSecret()
	tests := []struct {
		name, body, contentType string
		want                    string // the expected secret; "" means any new one
		status                  int
		fields                  []string
	}{
		{name: "no body", status: 200},
		{name: "empty object", body: `{}`, status: 200},
		{name: "given secret", body: mustJSON(t, map[string]string{"secret": given}), want: given, status: 200},
		{name: "bad secret", body: `{"secret": "nope"}`, status: 422, fields: []string{"secret"}},
		{name: "unknown field", body: `{"key": "x"}`, status: 400, fields: []string{"key"}},
		{name: "wrong content type", body: `{}`, contentType: "text/plain", status: 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			w := b.do(t, req{method: "POST", path: "/subscriptions/" + b.subA.ID + "/rotate-secret", token: tokUserA, body: tt.body, contentType: tt.contentType})
			if tt.status != 200 {
				code := map[int]string{400: codeBadRequest, 415: codeUnsupportedMediaType, 422: codeValidation}[tt.status]
				requireError(t, w, tt.status, code, tt.fields...)
				return
			}
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			s := decodeAs[subscriptionOut](t, w)
			require.True(t, strings.HasPrefix(s.Secret, "whsec_"))
			require.NotEqual(t, b.subA.Secret, s.Secret)
			if tt.want != "" {
				require.Equal(t, tt.want, s.Secret)
			}
			require.NotNil(t, s.PreviousSecretExpiresAt)
			require.NotContains(t, w.Body.String(), b.subA.Secret, "the old secret is never answered")
		})
	}
}

func TestSubscriptionEnableDisable(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	path := "/subscriptions/" + b.subA.ID
	for _, step := range []struct {
		action string
		want   bool
	}{{"disable", true}, {"disable", true}, {"enable", false}, {"enable", false}} {
		w := b.do(t, req{method: "POST", path: path + "/" + step.action, token: tokUserA})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		require.Equal(t, step.want, decodeAs[subscriptionOut](t, w).Disabled)
		got := decodeAs[subscriptionOut](t, b.do(t, req{method: "GET", path: path, token: tokUserA}))
		require.Equal(t, step.want, got.Disabled)
		require.Equal(t, "redacted", got.Auth.Bearer.Token)
	}
	// The secret and the credentials survived the round trips.
	stored, err := b.store.SubscriptionGet(t.Context(), b.subA.ID)
	require.NoError(t, err)
	require.Equal(t, b.subA.Secret, stored.Secret)
	require.Equal(t, "s3cret-token", stored.Auth.Bearer.Token)
}

func TestSubscriptionListFiltersAndPages(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	var ids []string
	for range 5 {
		w := b.do(t, req{method: "POST", path: "/subscriptions", token: tokAdminB, body: `{"url": "https://example.com/h", "eventTypes": ["invoice.paid"], "disabled": true}`})
		require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
		ids = append(ids, decodeAs[subscriptionOut](t, w).ID)
	}
	all := append([]string{b.subB.ID}, ids...)
	tests := []struct {
		query string
		want  []string
	}{
		{"", all},
		{"?disabled=true", ids},
		{"?disabled=false", []string{b.subB.ID}},
		{"?eventType=invoice.paid", all},
		{"?eventType=order.created", []string{b.subB.ID}},
		{"?eventType=order.created&disabled=true", nil},
		{"?limit=2", all},
		{"?limit=1&disabled=true", ids},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			var got []string
			path := "/subscriptions" + tt.query
			for pages := 0; ; pages++ {
				require.Less(t, pages, 10)
				w := b.do(t, req{method: "GET", path: path, token: tokAdminB})
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				p := decodeAs[page[subscriptionOut]](t, w)
				for _, s := range p.Data {
					got = append(got, s.ID)
				}
				if p.NextCursor == "" {
					break
				}
				sep := "?"
				if tt.query != "" {
					sep = "&"
				}
				path = "/subscriptions" + tt.query + sep + "cursor=" + p.NextCursor
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSubscriptionListUserPages(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	var ids []string
	for range 3 {
		s, err := b.d.SubscriptionCreate(t.Context(), webhook.Subscription{Tenant: "a", URL: "https://example.com/h", EventTypes: []string{"x"}})
		require.NoError(t, err)
		ids = append(ids, s.ID)
	}
	other, err := b.d.SubscriptionCreate(t.Context(), webhook.Subscription{Tenant: "b", URL: "https://example.com/h", EventTypes: []string{"x"}})
	require.NoError(t, err)
	// The user's list names subscriptions out of order, twice, one of
	// another tenant and one missing: only its tenant's existing ones
	// are listed, each once, in ID order.
	h := New(b.d, &Config{Authorize: func(*http.Request) (Principal, error) {
		return Principal{Tenant: "a", Role: RoleUser, Subscriptions: []string{ids[2], "sub_missing", ids[0], other.ID, ids[1], ids[0]}}, nil
	}})
	b.h = h
	var got []string
	path := "/subscriptions?limit=2"
	for {
		w := b.do(t, req{method: "GET", path: path, token: tokUserA})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		p := decodeAs[page[subscriptionOut]](t, w)
		require.LessOrEqual(t, len(p.Data), 2)
		for _, s := range p.Data {
			got = append(got, s.ID)
		}
		if p.NextCursor == "" {
			break
		}
		path = "/subscriptions?limit=2&cursor=" + p.NextCursor
	}
	require.Equal(t, ids, got)
}

// Credentials belong in auth, which is redacted; a static Authorization
// header would be shown in every answer, so it is refused.
func TestCredentialHeadersAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	w := b.do(t, req{method: "POST", path: "/subscriptions", token: tokAdminA,
		body: `{"url": "https://example.com/h", "eventTypes": ["a"], "headers": {"Authorization": "Bearer top-secret"}}`})
	require.Equal(t, http.StatusUnprocessableEntity, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "give it in Auth")
	require.NotContains(t, w.Body.String(), "top-secret")
}
