package webhook_test

import (
	"context"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

func TestMatchEventType(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, typ string
		want         bool
	}{
		{"invoice.paid", "invoice.paid", true},
		{"invoice.paid", "invoice.paid.late", false},
		{"invoice.paid", "invoice", false},
		{"*", "anything.at.all", true},
		{"account.*", "account.created", true},
		{"account.*", "account.user.deleted", true},
		{"account.*", "account", false},
		{"account.*", "accounts.created", false},
		{"*.created", "account.created", true},
		{"*.created", "account.updated", false},
		{"a.*.c", "a.b.c", true},
		{"a.*.c", "a.b.x.c", true},
		{"a.*.c", "a.c", false},
		{"**", "x", true},
	} {
		require.Equal(t, tc.want, webhook.MatchEventType(tc.pattern, tc.typ), "%q ~ %q", tc.pattern, tc.typ)
	}
}

func TestSubscriptionCreateValidation(t *testing.T) {
	t.Parallel()
	valid := webhook.Subscription{URL: "https://example.com/hooks", EventTypes: []string{"a"}}
	for _, tc := range []struct {
		name   string
		change func(s *webhook.Subscription)
		field  string
		msg    string
	}{
		{"missing URL", func(s *webhook.Subscription) { s.URL = "" }, "URL", "required"},
		{"relative URL", func(s *webhook.Subscription) { s.URL = "/hooks" }, "URL", "must use http or https"},
		{"ftp URL", func(s *webhook.Subscription) { s.URL = "ftp://example.com" }, "URL", "must use http or https"},
		{"no host", func(s *webhook.Subscription) { s.URL = "https://" }, "URL", "must include a host"},
		{"credentials in URL", func(s *webhook.Subscription) { s.URL = "https://u:p@example.com" }, "URL", "must not carry credentials"},
		{"GET", func(s *webhook.Subscription) { s.Method = "GET" }, "Method", `must be POST, PUT or DELETE (empty means POST), got "GET"`},
		{"PATCH", func(s *webhook.Subscription) { s.Method = "PATCH" }, "Method", "must be POST, PUT or DELETE"},
		{"no event types", func(s *webhook.Subscription) { s.EventTypes = nil }, "EventTypes", "at least one"},
		{"empty event type", func(s *webhook.Subscription) { s.EventTypes = []string{"a", ""} }, "EventTypes[1]", "must not be empty"},
		{"space in event type", func(s *webhook.Subscription) { s.EventTypes = []string{"a b"} }, "EventTypes[0]", "spaces"},
		{"bad secret", func(s *webhook.Subscription) { s.Secret = "whsec_!!" }, "Secret", "whsec_"},
		{"short secret", func(s *webhook.Subscription) { s.Secret = "whsec_c2hvcnQ=" }, "Secret", "24 to 64 bytes"},
		{"reserved header", func(s *webhook.Subscription) { s.Headers = map[string]string{"Webhook-Signature": "x"} }, `Headers["Webhook-Signature"]`, "cannot be overridden"},
		{"host header", func(s *webhook.Subscription) { s.Headers = map[string]string{"Host": "x"} }, `Headers["Host"]`, "cannot be overridden"},
		{"bad header name", func(s *webhook.Subscription) { s.Headers = map[string]string{"X Bad": "x"} }, `Headers["X Bad"]`, "not a valid HTTP header name"},
		{"header injection", func(s *webhook.Subscription) { s.Headers = map[string]string{"X-A": "a\r\nX-B: b"} }, `Headers["X-A"]`, `must not contain control characters (it has '\r')`},
		{"control character in header", func(s *webhook.Subscription) { s.Headers = map[string]string{"X-A": "a\x1bb"} }, `Headers["X-A"]`, `(it has '\x1b')`},
		{"international host", func(s *webhook.Subscription) { s.URL = "https://bücher.example/hooks" }, "URL", `host "bücher.example" must be ASCII: give an international name in its punycode form (xn--…)`},
		{"given ID", func(s *webhook.Subscription) { s.ID = "sub_mine" }, "ID", "assigned by SubscriptionCreate"},
		{"long name", func(s *webhook.Subscription) { s.Name = strings.Repeat("n", 300) }, "Name", "at most 256"},
		{"line break in an auth header, told once", func(s *webhook.Subscription) {
			s.Auth = &webhook.Auth{Headers: map[string]string{"X-Key": "k\r\n"}}
		}, `Auth.Headers["X-Key"]`, "(it has '\\r'); trim the line break at its end"},
		{"line break in a token", func(s *webhook.Subscription) { s.Auth = &webhook.Auth{Bearer: &webhook.BearerAuth{Token: "t\n"}} },
			"Auth.Bearer.Token", "(it has '\\n'); trim the line break at its end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			s := valid
			tc.change(&s)
			_, err := b.d.SubscriptionCreate(context.Background(), s)
			require.ErrorIs(t, err, webhook.ErrInvalid)
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Fields, 1, "%v", err)
			require.Equal(t, tc.field, ve.Fields[0].Field)
			require.Contains(t, ve.Fields[0].Message, tc.msg)
			list, err := b.d.SubscriptionList(context.Background(), webhook.SubscriptionListParams{})
			require.NoError(t, err)
			require.Empty(t, list, "nothing is stored on a validation error")
		})
	}
}

func TestSubscriptionValidationListsEveryField(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{Method: "GET"})
	var ve *webhook.ValidationError
	require.ErrorAs(t, err, &ve)
	var fields []string
	for _, f := range ve.Fields {
		fields = append(fields, f.Field)
	}
	require.ElementsMatch(t, []string{"Method", "URL", "EventTypes"}, fields)
	require.Contains(t, err.Error(), "webhook: invalid subscription: ")
}

func TestSubscriptionCRUD(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	created, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{
		Tenant:     "acme",
		Name:       "billing",
		URL:        "https://example.com/hooks",
		EventTypes: []string{"invoice.*"},
		Headers:    map[string]string{"X-Env": "prod"},
		Metadata:   map[string]string{"owner": "team-a"},
	})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(created.ID, "sub_"), created.ID)
	require.Equal(t, "POST", created.Method)
	_, err = webhook.DecodeSecret(created.Secret)
	require.NoError(t, err)
	require.False(t, created.CreatedAt.IsZero())

	got, err := b.d.SubscriptionGet(ctx, created.ID)
	require.NoError(t, err)
	require.Empty(t, got.Secret, "Get never returns the secret")
	created.Secret = ""
	require.Equal(t, created, got)

	// Update replaces fields, keeps tenant, creation time and secret.
	got.Tenant = ""
	got.URL = "https://example.com/v2"
	got.Method = "put"
	updated, err := b.d.SubscriptionUpdate(ctx, got)
	require.NoError(t, err)
	require.Equal(t, "acme", updated.Tenant)
	require.Equal(t, "PUT", updated.Method)
	require.Equal(t, created.CreatedAt, updated.CreatedAt)
	require.Empty(t, updated.Secret)

	got.Tenant = "other"
	_, err = b.d.SubscriptionUpdate(ctx, got)
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.Contains(t, err.Error(), "Tenant: cannot be changed")

	list, err := b.d.SubscriptionList(ctx, webhook.SubscriptionListParams{Tenant: "acme"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "https://example.com/v2", list[0].URL)
	require.Empty(t, list[0].Secret)

	require.NoError(t, b.d.SubscriptionDelete(ctx, created.ID))
	_, err = b.d.SubscriptionGet(ctx, created.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
	require.ErrorIs(t, b.d.SubscriptionDelete(ctx, created.ID), webhook.ErrNotFound)
	_, err = b.d.SubscriptionUpdate(ctx, got)
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func TestSubscriptionGivenSecretIsKept(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	secret := webhook.NewSecret()
	s, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{URL: "https://example.com", EventTypes: []string{"*"}, Secret: secret})
	require.NoError(t, err)
	require.Equal(t, secret, s.Secret)
}

func TestSubscriptionCallerCannotMutateStoredValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	in := webhook.Subscription{URL: "https://example.com", EventTypes: []string{"a"}, Headers: map[string]string{"X-A": "1"}}
	s, err := b.d.SubscriptionCreate(ctx, in)
	require.NoError(t, err)
	in.EventTypes[0] = "changed"
	in.Headers["X-A"] = "changed"
	s.Headers["X-A"] = "changed"
	got, err := b.d.SubscriptionGet(ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, got.EventTypes)
	require.Equal(t, "1", got.Headers["X-A"])
}

func TestSubscriptionRotateSecretSignsWithBothDuringOverlap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	b := setup(t, &webhook.Config{
		Now:           func() time.Time { return *now.Load() },
		SecretOverlap: time.Hour,
	})
	rcv := newReceiver(t)
	sub := b.subscribe(t, rcv.URL, "*")
	oldSecret := sub.Secret

	rotated, err := b.d.SubscriptionRotateSecret(ctx, sub.ID, "")
	require.NoError(t, err)
	require.NotEqual(t, oldSecret, rotated.Secret)
	require.True(t, strings.HasPrefix(rotated.Secret, "whsec_"))
	require.Empty(t, rotated.PreviousSecret, "the old secret is never returned")
	require.Empty(t, mustGet(t, b, sub.ID).Secret)
	b.start(t)

	// During the overlap both secrets verify, each on its own.
	b.publish(t, webhook.Event{Type: "a"})
	got := rcv.next(t)
	require.Len(t, strings.Fields(got.Header.Get("webhook-signature")), 2)
	oldOnly, err := webhook.NewReceiver([]string{oldSecret}, &webhook.ReceiverConfig{Now: func() time.Time { return *now.Load() }})
	require.NoError(t, err)
	newOnly, err := webhook.NewReceiver([]string{rotated.Secret}, &webhook.ReceiverConfig{Now: func() time.Time { return *now.Load() }})
	require.NoError(t, err)
	_, err = oldOnly.Verify(got.Body, got.Header)
	require.NoError(t, err)
	_, err = newOnly.Verify(got.Body, got.Header)
	require.NoError(t, err)
	b.nextUpdate(t)

	// After the overlap, only the new one.
	later := start.Add(2 * time.Hour)
	now.Store(&later)
	b.publish(t, webhook.Event{Type: "a"})
	got = rcv.next(t)
	require.Len(t, strings.Fields(got.Header.Get("webhook-signature")), 1)
	_, err = newOnly.Verify(got.Body, got.Header)
	require.NoError(t, err)
	_, err = oldOnly.Verify(got.Body, got.Header)
	require.ErrorIs(t, err, webhook.ErrNoMatchingSignature)

	_, err = b.d.SubscriptionRotateSecret(ctx, sub.ID, "whsec_bad")
	require.ErrorIs(t, err, webhook.ErrInvalid)
	_, err = b.d.SubscriptionRotateSecret(ctx, "sub_missing", "")
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func TestSubscriptionEd25519Signatures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	rcv := newReceiver(t)
	sub, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: rcv.URL, EventTypes: []string{"*"}, SignatureScheme: "v1a"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(sub.Secret, "whsk_"), sub.Secret)
	require.True(t, strings.HasPrefix(sub.PublicKey, "whpk_"), sub.PublicKey)
	got := mustGet(t, b, sub.ID)
	require.Empty(t, got.Secret)
	require.Equal(t, sub.PublicKey, got.PublicKey, "the public key is always shown")

	b.start(t)
	b.publish(t, webhook.Event{Type: "a"})
	req := rcv.next(t)
	require.True(t, strings.HasPrefix(req.Header.Get("webhook-signature"), "v1a,"))
	r, err := webhook.NewReceiver([]string{sub.PublicKey}, nil)
	require.NoError(t, err)
	ev, err := r.Verify(req.Body, req.Header)
	require.NoError(t, err)
	require.Equal(t, "a", ev.Type)

	// Rotating keeps the scheme.
	rotated, err := b.d.SubscriptionRotateSecret(ctx, sub.ID, "")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(rotated.Secret, "whsk_"))
	require.NotEqual(t, sub.PublicKey, rotated.PublicKey)

	_, err = b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: rcv.URL, EventTypes: []string{"*"}, SignatureScheme: "v2"})
	require.ErrorContains(t, err, `SignatureScheme: must be "v1" (HMAC, the default) or "v1a" (ed25519)`)
	_, err = b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: rcv.URL, EventTypes: []string{"*"}, SignatureScheme: "v1a", Secret: webhook.NewSecret()})
	require.ErrorContains(t, err, "whsk_")
}

func TestMatchEventTypeIsNotExponential(t *testing.T) {
	t.Parallel()
	pattern := strings.Repeat("*a", 12) + "*b" // a valid 26-byte pattern
	typ := strings.Repeat("a", 200)
	done := make(chan bool)
	go func() { done <- webhook.MatchEventType(pattern, typ) }()
	select {
	case got := <-done:
		require.False(t, got)
	case <-time.After(5 * time.Second):
		t.Fatal("MatchEventType backtracks exponentially")
	}
}

func TestSubscriptionHeaderConflicts(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		auth    *webhook.Auth
		msg     string
	}{
		{"same name twice", map[string]string{"X-A": "1", "x-a": "2"}, nil, "case-insensitive"},
		{"credentials in a static header", map[string]string{"Authorization": "Bearer top-secret"}, nil, "give it in Auth"},
		{"cookie in a static header", map[string]string{"Cookie": "session=1"}, nil, "give it in Auth"},
		{"static and auth header", map[string]string{"api-key": "1"}, &webhook.Auth{Headers: map[string]string{"Api-Key": "2"}}, "set it in one place"},
		{"content type", map[string]string{"Content-Type": "text/xml"}, nil, "set that instead"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{URL: "https://example.com", EventTypes: []string{"*"}, Headers: tc.headers, Auth: tc.auth})
			require.ErrorIs(t, err, webhook.ErrInvalid)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestStaticUserAgentReplacesDefault(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rcv := newReceiver(t)
	_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{URL: rcv.URL, EventTypes: []string{"*"}, Headers: map[string]string{"User-Agent": "acme-hooks/2"}})
	require.NoError(t, err)
	b.start(t)
	b.publish(t, webhook.Event{Type: "a"})
	require.Equal(t, "acme-hooks/2", rcv.next(t).Header.Get("User-Agent"))
}

func TestRedactedCredentialsDoNotFollowTheURLElsewhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	s, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: "https://partner.example.com/hook", EventTypes: []string{"*"},
		Auth: &webhook.Auth{Bearer: &webhook.BearerAuth{Token: "partner-token"}}})
	require.NoError(t, err)
	got := mustGet(t, b, s.ID)
	got.URL = "https://attacker.example/collect"
	_, err = b.d.SubscriptionUpdate(ctx, got)
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.ErrorContains(t, err, `Auth.Bearer.Token: reads "redacted" but the URL's scheme or host changed; give the credential again`)
	stored, err := b.store.SubscriptionGet(ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, "https://partner.example.com/hook", stored.URL)

	// Same host, another path: the stored token is kept.
	got.URL = "https://partner.example.com/v2/hook"
	_, err = b.d.SubscriptionUpdate(ctx, got)
	require.NoError(t, err)
	stored, err = b.store.SubscriptionGet(ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, "partner-token", stored.Auth.Bearer.Token)
}

func TestSubscriptionSchemeChangeNeedsRotation(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	s := b.subscribe(t, "https://example.com", "*")
	got := mustGet(t, b, s.ID)
	got.SignatureScheme = "v1a"
	_, err := b.d.SubscriptionUpdate(context.Background(), got)
	require.ErrorContains(t, err, "SignatureScheme: changing it needs a secret of the new scheme: call SubscriptionRotateSecret")
}

func TestInvalidURLErrorDoesNotEchoTheURL(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{URL: "https://example.com/h?token=s3cr3t\x01", EventTypes: []string{"*"}})
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.NotContains(t, err.Error(), "s3cr3t")
}

// Rotating within one clock tick of a delivery must still sign with the
// new secret: the cache of parsed subscriptions follows content, not time.
func TestRotationInTheSameClockTickSignsWithTheNewSecret(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	b := setup(t, &webhook.Config{Now: clock})
	rcv := newReceiver(t)
	sub := b.subscribe(t, rcv.URL, "*")
	b.start(t)
	b.publish(t, webhook.Event{Type: "a"})
	rcv.next(t)
	b.nextUpdate(t)

	rotated, err := b.d.SubscriptionRotateSecret(context.Background(), sub.ID, "")
	require.NoError(t, err)
	b.publish(t, webhook.Event{Type: "a"})
	got := rcv.next(t)
	r, err := webhook.NewReceiver([]string{rotated.Secret}, &webhook.ReceiverConfig{Now: clock})
	require.NoError(t, err)
	_, err = r.Verify(got.Body, got.Header)
	require.NoError(t, err)
}

// FuzzMatchEventType checks the glob against a regular expression doing
// the same thing.
func FuzzMatchEventType(f *testing.F) {
	for _, seed := range [][2]string{{"*", "a.b"}, {"a.*", "a.b.c"}, {"*.created", "x.created"}, {"a*b*c", "aXbYc"}, {"**a", "ba"}, {"", ""}, {"a", ""}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, typ string) {
		if len(pattern) > 64 || len(typ) > 64 {
			return
		}
		if !utf8.ValidString(pattern) || !utf8.ValidString(typ) {
			return // regexp matches runes; the glob matches bytes.
		}
		re := regexp.MustCompile("^(?s:" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + ")$")
		require.Equal(t, re.MatchString(typ), webhook.MatchEventType(pattern, typ), "%q ~ %q", pattern, typ)
	})
}

func TestPullSubscriptionHasNoSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	s, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{Mode: webhook.ModePull, EventTypes: []string{"*"}})
	require.NoError(t, err)
	require.Empty(t, s.Secret, "pull feeds are read, never signed")
	_, err = b.d.SubscriptionRotateSecret(ctx, s.ID, "")
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.ErrorContains(t, err, "no secret to rotate")
}
