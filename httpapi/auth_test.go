package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAuthorizationMatrix sends every route as each kind of caller: admin
// and users of the subscription's tenant, an admin of another tenant, and
// nobody.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	const validSub = `{"url": "https://example.com/hook", "eventTypes": ["order.created"]}`
	type want struct{ adminA, userA, noneA, adminB, anon int }
	ok := func(s int) want { return want{s, s, 403, 404, 401} }
	tests := []struct {
		method, path, body string
		want               want
	}{
		{"POST", "/subscriptions", validSub, want{201, 403, 403, 201, 401}},
		{"GET", "/subscriptions", "", want{200, 200, 200, 200, 401}},
		{"GET", "/subscriptions/{A}", "", ok(200)},
		{"PUT", "/subscriptions/{A}", validSub, ok(200)},
		{"PATCH", "/subscriptions/{A}", `{"name": "renamed"}`, ok(200)},
		{"DELETE", "/subscriptions/{A}", "", ok(204)},
		{"POST", "/subscriptions/{A}/rotate-secret", "", ok(200)},
		{"POST", "/subscriptions/{A}/enable", "", ok(200)},
		{"POST", "/subscriptions/{A}/disable", "", ok(200)},
		{"GET", "/subscriptions/{A}/deliveries", "", ok(200)},
		{"GET", "/deliveries/{D}", "", ok(200)},
		{"POST", "/deliveries/{D}/retry", "", ok(409)}, // authorized, but the delivery is pending
		{"POST", "/events", `{"type": "order.created", "data": {}}`, want{202, 403, 403, 202, 401}},
		// Authorized callers get to the Dispatcher, which refuses to poll
		// a push subscription.
		{"GET", "/subscriptions/{A}/events?timeout=1", "", ok(409)},
		{"PUT", "/subscriptions/{A}/cursor", `{"cursor": "cur_x"}`, ok(409)},
		{"GET", "/events", "", want{200, 403, 403, 200, 401}},
		{"GET", "/events/{E}", "", want{200, 403, 403, 404, 401}},
	}
	for _, tt := range tests {
		for _, caller := range []struct {
			token string
			want  func(want) int
		}{
			{tokAdminA, func(w want) int { return w.adminA }},
			{tokUserA, func(w want) int { return w.userA }},
			{tokNoneA, func(w want) int { return w.noneA }},
			{tokAdminB, func(w want) int { return w.adminB }},
			{tokAnon, func(w want) int { return w.anon }},
		} {
			name := fmt.Sprintf("%s %s as %q", tt.method, tt.path, caller.token)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				b := setup(t, &bundleOpts{cfg: Config{AllowPublish: true}})
				res := b.publish(t, "a", "order.created")
				path := strings.NewReplacer("{A}", b.subA.ID, "{D}", res.DeliveryIDs[0], "{E}", res.EventID).Replace(tt.path)
				w := b.do(t, req{method: tt.method, path: path, token: caller.token, body: tt.body})
				status := caller.want(tt.want)
				require.Equal(t, status, w.Code, "body: %s", w.Body.String())
				switch status {
				case 401:
					requireError(t, w, status, codeUnauthenticated)
				case 403:
					requireError(t, w, status, codeForbidden)
				case 404:
					requireError(t, w, status, codeNotFound)
				}
			})
		}
	}
}

// TestOtherTenantLooksMissing checks that another tenant's resource is
// answered exactly as a missing one.
func TestOtherTenantLooksMissing(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	res := b.publish(t, "a", "order.created")
	for _, path := range []string{
		"/subscriptions/%s",
		"/subscriptions/%s/deliveries",
		"/deliveries/%s",
		"/events/%s",
	} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			id := b.subA.ID
			switch {
			case strings.HasPrefix(path, "/deliveries"):
				id = res.DeliveryIDs[0]
			case strings.HasPrefix(path, "/events"):
				id = res.EventID
			}
			other := b.do(t, req{method: "GET", path: fmt.Sprintf(path, id), token: tokAdminB})
			missing := b.do(t, req{method: "GET", path: fmt.Sprintf(path, "xyz_missing"), token: tokAdminB})
			require.Equal(t, http.StatusNotFound, other.Code)
			require.Equal(t, missing.Code, other.Code)
			require.Equal(t,
				strings.ReplaceAll(missing.Body.String(), "xyz_missing", "ID"),
				strings.ReplaceAll(other.Body.String(), id, "ID"))
		})
	}
}

// TestListScope checks that lists hold only what the caller may see.
func TestListScope(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tests := []struct {
		token string
		want  []string
	}{
		{tokAdminA, []string{b.subA.ID, b.subA2.ID}},
		{tokUserA, []string{b.subA.ID}},
		{tokNoneA, nil},
		{tokAdminB, []string{b.subB.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			t.Parallel()
			w := b.do(t, req{method: "GET", path: "/subscriptions", token: tt.token})
			require.Equal(t, http.StatusOK, w.Code)
			got := decodeAs[page[subscriptionOut]](t, w)
			var ids []string
			for _, s := range got.Data {
				ids = append(ids, s.ID)
			}
			require.Equal(t, tt.want, ids)
			require.Empty(t, got.NextCursor)
		})
	}
}

// TestAuthorizeOutcomes checks what Authorize's results are answered with.
func TestAuthorizeOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		principal Principal
		err       error
		status    int
		code      string
	}{
		{"error", Principal{}, errors.New("bad token"), 401, codeUnauthenticated},
		{"forbidden", Principal{}, fmt.Errorf("suspended account: %w", ErrForbidden), 403, codeForbidden},
		{"no role", Principal{Tenant: "a"}, nil, 500, codeInternal},
		{"unknown role", Principal{Tenant: "a", Role: "owner"}, nil, 500, codeInternal},
		{"admin", Principal{Tenant: "a", Role: RoleAdmin}, nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			var logged strings.Builder
			b.h = New(b.d, &Config{
				Authorize: func(*http.Request) (Principal, error) { return tt.principal, tt.err },
				Logger:    slogTo(&logged),
			})
			w := b.do(t, req{method: "GET", path: "/subscriptions", token: tokAdminA})
			if tt.code == "" {
				require.Equal(t, tt.status, w.Code, w.Body.String())
				return
			}
			e := requireError(t, w, tt.status, tt.code)
			if tt.status == 401 {
				require.Equal(t, "Bearer", w.Header().Get("WWW-Authenticate"))
			} else {
				require.Empty(t, w.Header().Get("WWW-Authenticate"))
			}
			if tt.status == 500 {
				require.NotContains(t, e.Message, "role", "the cause is logged, not answered")
				require.Contains(t, logged.String(), "Config.Authorize returned a Principal with role")
			}
			if tt.err != nil {
				require.Contains(t, e.Message, tt.err.Error())
			}
		})
	}
}

// TestNewPanicsWithoutRequirements checks the constructor's guards.
func TestNewPanicsWithoutRequirements(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	require.PanicsWithValue(t, "httpapi.New: the Dispatcher is nil; pass the *webhook.Dispatcher whose subscriptions the API manages", func() {
		New(nil, &Config{Authorize: func(*http.Request) (Principal, error) { return Principal{}, nil }})
	})
	for _, cfg := range []*Config{nil, {}} {
		require.Panics(t, func() { New(b.d, cfg) })
	}
}

// TestChallenge checks the WWW-Authenticate header of 401 answers.
func TestChallenge(t *testing.T) {
	t.Parallel()
	b := setup(t, &bundleOpts{cfg: Config{Challenge: `Basic realm="hooks"`}})
	w := b.do(t, req{method: "GET", path: "/subscriptions", token: tokAnon})
	requireError(t, w, http.StatusUnauthorized, codeUnauthenticated)
	require.Equal(t, `Basic realm="hooks"`, w.Header().Get("WWW-Authenticate"))
}
