package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// The Jira example of issue 5, verbatim: a template body, Bearer auth.
func TestTemplateJiraIssue(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rcv := newReceiver(t)
	ctx := context.Background()
	sub, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{
		Method:     "POST",
		URL:        rcv.URL + "/rest/api/3/issue",
		EventTypes: []string{"PortfolioCreated"},
		Auth:       &webhook.Auth{Bearer: &webhook.BearerAuth{Token: "jira-token-123"}},
		Template:   `{"update": {}, "fields": {"summary": "Portfolio with ID {{Body.portfolioScope}}/{{Body.portfolioCode}} created on {{Header.timestamp}} - action required", "parent": {"key": "PROJ-123"}, "issuetype": {"id": "10000"}}}`,
	})
	require.NoError(t, err)
	b.start(t)
	ts := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	b.publish(t, webhook.Event{Type: "PortfolioCreated", Timestamp: ts, Data: []byte(`{"portfolioScope":"Finbourne-Examples","portfolioCode":"UK-Equities"}`)})

	got := rcv.next(t)
	require.JSONEq(t, `{"update": {}, "fields": {"summary": "Portfolio with ID Finbourne-Examples/UK-Equities created on 2026-11-23T09:30:00Z - action required", "parent": {"key": "PROJ-123"}, "issuetype": {"id": "10000"}}}`, string(got.Body))
	require.Equal(t, "Bearer jira-token-123", got.Header.Get("Authorization"))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	// The signature covers the rendered body.
	require.NoError(t, webhook.Verify(sub.Secret, got.Body, got.Header))
	require.Equal(t, webhook.DeliverySucceeded, b.nextUpdate(t).State)
}

func TestTemplateEscapingAndRawValues(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rcv := newReceiver(t)
	_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{
		URL:        rcv.URL,
		EventTypes: []string{"*"},
		Template:   `{"text": "{{Body.name}} by {{Header.actor}}", "order": {{Body.order}}, "n": {{Body.n}}, "missing": {{Body.nope}}}`,
	})
	require.NoError(t, err)
	b.start(t)
	b.publish(t, webhook.Event{
		Type:     "a",
		Data:     []byte(`{"name": "quote \" and }} and\nnewline ☃", "order": {"id": 7, "lines": [1, 2]}, "n": 3.5}`),
		Metadata: map[string]string{"actor": `u"1`},
	})
	got := rcv.next(t)
	var body map[string]any
	require.NoError(t, json.Unmarshal(got.Body, &body), string(got.Body))
	require.Equal(t, "quote \" and }} and\nnewline ☃ by u\"1", body["text"])
	require.Equal(t, map[string]any{"id": 7.0, "lines": []any{1.0, 2.0}}, body["order"])
	require.Equal(t, 3.5, body["n"])
	require.Nil(t, body["missing"])
	require.Len(t, body, 4, "no field was injected")

	u := b.nextUpdate(t)
	require.Equal(t, webhook.DeliverySucceeded, u.State)
	require.Equal(t, []string{"Body.nope"}, u.Attempt.MissingValues)
}

func TestTemplateFormAndURL(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rcv := newReceiver(t)
	_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{
		URL:         rcv.URL + "/issues/{{Body.key}}/comments?by={{Header.actor}}",
		EventTypes:  []string{"*"},
		Method:      "PUT",
		ContentType: "application/x-www-form-urlencoded",
		Template:    `summary={{Body.summary}}&id={{Header.id}}`,
	})
	require.NoError(t, err)
	b.start(t)
	res := b.publish(t, webhook.Event{ID: "evt-1", Type: "a", Data: []byte(`{"key": "PROJ/1 x", "summary": "a&b=c d"}`), Metadata: map[string]string{"actor": "a b&c"}})
	require.Len(t, res.DeliveryIDs, 1)
	got := rcv.next(t)
	require.Equal(t, "application/x-www-form-urlencoded", got.Header.Get("Content-Type"))
	form, err := url.ParseQuery(string(got.Body))
	require.NoError(t, err)
	require.Equal(t, "a&b=c d", form.Get("summary"))
	require.Equal(t, "evt-1", form.Get("id"))
}

func TestTemplateURLEscaping(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	paths := make(chan *url.URL, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{
		URL:        srv.URL + "/issues/{{Body.key}}/comments?by={{Header.actor}}",
		EventTypes: []string{"*"},
	})
	require.NoError(t, err)
	b.start(t)
	b.publish(t, webhook.Event{Type: "a", Data: []byte(`{"key": "../PROJ/1 x"}`), Metadata: map[string]string{"actor": "a b&c=d"}})
	var u *url.URL
	select {
	case u = <-paths:
	case <-time.After(10 * time.Second):
		t.Fatal("no request")
	}
	require.Equal(t, "/issues/..%2FPROJ%2F1%20x/comments", u.EscapedPath())
	require.Equal(t, "a b&c=d", u.Query().Get("by"))
}

func TestTemplateRejectedAtCreateAndUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	for _, tc := range []struct {
		name, template, contentType, url, field, msg string
	}{
		{"unterminated tag", `{"a": "{{Body.x"}`, "", "", "Template", "column"},
		{"unknown root", `{"a": "{{Foo.x}}"}`, "", "", "Template", "Foo"},
		{"invalid JSON", `{"a": {{Body.x}} {{Body.y}}}`, "", "", "Template", "column"},
		{"bad content type", `x`, "application/xml", "", "ContentType", "application/xml"},
		{"tag in host", "", "", "https://{{Body.host}}/x", "URL", "host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.url
			if u == "" {
				u = "https://example.com/x"
			}
			_, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: u, EventTypes: []string{"*"}, Template: tc.template, ContentType: tc.contentType})
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.field, ve.Fields[0].Field, "%v", err)
			require.Contains(t, ve.Fields[0].Message, tc.msg)
		})
	}
	s, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: "https://example.com", EventTypes: []string{"*"}, Template: `{"a": "{{Body.x}}"}`})
	require.NoError(t, err)
	s.Template = `{"a": {{Body.x}`
	_, err = b.d.SubscriptionUpdate(ctx, s)
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.Contains(t, err.Error(), "Template")
}

func TestTemplateUpdatedIsUsedForPendingDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	rcv := newReceiver(t)
	s, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: rcv.URL, EventTypes: []string{"*"}, Template: `{"v": 1}`})
	require.NoError(t, err)
	b.start(t)
	b.publish(t, webhook.Event{Type: "a"})
	require.JSONEq(t, `{"v": 1}`, string(rcv.next(t).Body))
	b.nextUpdate(t)

	s.Template = `{"v": 2, "n": {{Body.n}}}`
	_, err = b.d.SubscriptionUpdate(ctx, s)
	require.NoError(t, err)
	b.publish(t, webhook.Event{Type: "a"})
	require.JSONEq(t, `{"v": 2, "n": 1}`, string(rcv.next(t).Body))
}

func TestAuthKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		auth  webhook.Auth
		check func(t *testing.T, h http.Header)
	}{
		{"bearer", webhook.Auth{Bearer: &webhook.BearerAuth{Token: "t0k"}}, func(t *testing.T, h http.Header) {
			require.Equal(t, "Bearer t0k", h.Get("Authorization"))
		}},
		{"bearer other scheme", webhook.Auth{Bearer: &webhook.BearerAuth{Token: "t0k", Scheme: "Token"}}, func(t *testing.T, h http.Header) {
			require.Equal(t, "Token t0k", h.Get("Authorization"))
		}},
		{"basic with custom headers", webhook.Auth{Basic: &webhook.BasicAuth{Username: "svc", Password: "pa:ss"}, Headers: map[string]string{"api-key": "1234"}}, func(t *testing.T, h http.Header) {
			r := &http.Request{Header: h}
			user, pass, ok := r.BasicAuth()
			require.True(t, ok)
			require.Equal(t, "svc", user)
			require.Equal(t, "pa:ss", pass)
			require.Equal(t, "1234", h.Get("api-key"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			rcv := newReceiver(t)
			auth := tc.auth
			_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{URL: rcv.URL, EventTypes: []string{"*"}, Auth: &auth, Headers: map[string]string{"X-Static": "s"}})
			require.NoError(t, err)
			b.start(t)
			b.publish(t, webhook.Event{Type: "a"})
			got := rcv.next(t)
			tc.check(t, got.Header)
			require.Equal(t, "s", got.Header.Get("X-Static"))
		})
	}
}

func TestAuthValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	for _, tc := range []struct {
		name  string
		auth  webhook.Auth
		field string
		msg   string
	}{
		{"bearer and basic", webhook.Auth{Bearer: &webhook.BearerAuth{Token: "a"}, Basic: &webhook.BasicAuth{Username: "u"}}, "Auth", "not both"},
		{"empty token", webhook.Auth{Bearer: &webhook.BearerAuth{}}, "Auth.Bearer.Token", "required"},
		{"reference without resolver", webhook.Auth{Bearer: &webhook.BearerAuth{Token: "env://TOKEN"}}, "Auth.Bearer.Token", "Config.Secrets is not set"},
		{"reserved auth header", webhook.Auth{Headers: map[string]string{"webhook-id": "x"}}, `Auth.Headers["webhook-id"]`, "cannot be overridden"},
		{"authorization twice", webhook.Auth{Bearer: &webhook.BearerAuth{Token: "a"}, Headers: map[string]string{"Authorization": "x"}}, `Auth.Headers["Authorization"]`, "conflicts"},
		{"username with colon", webhook.Auth{Basic: &webhook.BasicAuth{Username: "a:b"}}, "Auth.Basic.Username", `":"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := tc.auth
			_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{URL: "https://example.com", EventTypes: []string{"*"}, Auth: &auth})
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.field, ve.Fields[0].Field, "%v", err)
			require.Contains(t, ve.Fields[0].Message, tc.msg)
		})
	}
}

func TestCredentialReferencesResolvedAtSendTime(t *testing.T) {
	t.Parallel()
	secrets := webhook.MapResolver{"config://personal/jira/api-token": "first"}
	var calls []string
	resolver := resolverFunc(func(ctx context.Context, ref string) (string, error) {
		calls = append(calls, ref)
		return secrets.Resolve(ctx, ref)
	})
	b := setup(t, &webhook.Config{Secrets: resolver, Workers: 1})
	rcv := newReceiver(t)
	ctx := context.Background()
	s, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{
		URL: rcv.URL, EventTypes: []string{"*"},
		Auth: &webhook.Auth{Bearer: &webhook.BearerAuth{Token: "config://personal/jira/api-token"}},
	})
	require.NoError(t, err)
	require.Equal(t, "config://personal/jira/api-token", s.Auth.Bearer.Token, "references are names, shown as given")
	b.start(t)
	b.publish(t, webhook.Event{Type: "a"})
	require.Equal(t, "Bearer first", rcv.next(t).Header.Get("Authorization"))
	b.nextUpdate(t)
	secrets["config://personal/jira/api-token"] = "second" // rotated in the host's store.
	b.publish(t, webhook.Event{Type: "a"})
	require.Equal(t, "Bearer second", rcv.next(t).Header.Get("Authorization"))
	require.Len(t, calls, 2)
}

// deliverWithKeyRef publishes one event to a subscription whose api-key
// header is the reference vault://team/key, resolved by secrets, and
// returns the first outcome and the receiver.
func deliverWithKeyRef(t *testing.T, secrets webhook.MapResolver) (webhook.DeliveryUpdate, *receiver) {
	t.Helper()
	b := setup(t, &webhook.Config{Secrets: secrets, Backoff: func(int) time.Duration { return time.Hour }})
	rcv := newReceiver(t)
	_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{
		URL: rcv.URL, EventTypes: []string{"*"},
		Auth: &webhook.Auth{Headers: map[string]string{"api-key": "vault://team/key"}},
	})
	require.NoError(t, err)
	b.start(t)
	b.publish(t, webhook.Event{Type: "a"})
	return b.nextUpdate(t), rcv
}

func TestUnresolvedReferenceFailsAttemptAndRetries(t *testing.T) {
	t.Parallel()
	u, rcv := deliverWithKeyRef(t, webhook.MapResolver{})
	require.Equal(t, webhook.DeliveryPending, u.State, "retried later")
	require.Contains(t, u.LastError, `Auth.Headers["api-key"]`)
	require.Contains(t, u.LastError, "vault://team/key")
	require.Contains(t, u.LastError, "not resolved")
	require.Empty(t, rcv.got, "never sent without its credentials")
}

func TestResolvedValueWithAControlCharacterIsNotSent(t *testing.T) {
	t.Parallel()
	u, rcv := deliverWithKeyRef(t, webhook.MapResolver{"vault://team/key": "k\x1bv"})
	require.Equal(t, webhook.DeliveryPending, u.State, "retried later")
	require.Contains(t, u.LastError, `resolved to a value with a control character ('\x1b')`)
	require.NotContains(t, u.LastError, "k\x1bv", "the secret is not in the log")
	require.Empty(t, rcv.got, "never sent")
}

func TestEnvAndSchemeResolvers(t *testing.T) {
	t.Setenv("HOOKSMITH_TEST_TOKEN", "from-env")
	r := webhook.SchemeResolver{"env": webhook.EnvResolver{}, "config": webhook.MapResolver{"config://a": "A"}}
	v, err := r.Resolve(context.Background(), "env://HOOKSMITH_TEST_TOKEN")
	require.NoError(t, err)
	require.Equal(t, "from-env", v)
	v, err = r.Resolve(context.Background(), "config://a")
	require.NoError(t, err)
	require.Equal(t, "A", v)
	_, err = r.Resolve(context.Background(), "env://HOOKSMITH_TEST_UNSET")
	require.ErrorIs(t, err, webhook.ErrUnresolvedSecret)
	require.ErrorContains(t, err, "HOOKSMITH_TEST_UNSET is not set")
	_, err = r.Resolve(context.Background(), "vault://x")
	require.ErrorContains(t, err, `no resolver for scheme "vault"`)
	require.True(t, webhook.IsReference("env://X"))
	require.False(t, webhook.IsReference("plain-token"))
}

func TestCredentialsRedactedInResults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	created, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{
		URL:        "https://example.com/hook?token=s3cr3t&x=1",
		EventTypes: []string{"*"},
		Auth:       &webhook.Auth{Basic: &webhook.BasicAuth{Username: "svc", Password: "pw"}, Headers: map[string]string{"api-key": "1234"}},
	})
	require.NoError(t, err)
	require.NotEmpty(t, created.Secret)
	for _, s := range []webhook.Subscription{created, mustGet(t, b, created.ID), mustList(t, b)[0]} {
		raw, err := json.Marshal(s)
		require.NoError(t, err)
		for _, leak := range []string{"s3cr3t", `"pw"`, "1234"} {
			require.NotContains(t, string(raw), leak)
		}
		require.Equal(t, "redacted", s.Auth.Basic.Password)
		require.Contains(t, s.URL, "token=redacted")
	}

	// Sending back what Get returned keeps the stored credentials and URL.
	got := mustGet(t, b, created.ID)
	got.Name = "renamed"
	_, err = b.d.SubscriptionUpdate(ctx, got)
	require.NoError(t, err)
	stored, err := b.store.SubscriptionGet(ctx, created.ID)
	require.NoError(t, err)
	require.Equal(t, "https://example.com/hook?token=s3cr3t&x=1", stored.URL)
	require.Equal(t, "pw", stored.Auth.Basic.Password)
	require.Equal(t, "1234", stored.Auth.Headers["api-key"])
	require.Equal(t, "renamed", stored.Name)
}

func TestTransformRewritesRequest(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	var seen webhook.OutgoingRequest
	b := setup(t, &webhook.Config{Transforms: map[string]webhook.TransformFunc{
		"jira": func(ctx context.Context, r *webhook.OutgoingRequest) error {
			seen = *r
			r.Method = "PUT"
			r.URL = rcv.URL + "/rewritten/" + r.Event.ID
			r.Header.Set("X-Transformed", "yes")
			r.Body = []byte(`{"rewritten":` + strconv.Quote(r.Event.Type) + `}`)
			return nil
		},
	}})
	sub, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{URL: rcv.URL + "/orig", EventTypes: []string{"*"}, Transform: "jira"})
	require.NoError(t, err)
	b.start(t)
	res := b.publish(t, webhook.Event{ID: "e1", Type: "order.created"})
	got := rcv.next(t)
	require.Equal(t, "PUT", got.Method)
	require.Equal(t, "yes", got.Header.Get("X-Transformed"))
	require.JSONEq(t, `{"rewritten":"order.created"}`, string(got.Body))
	require.NoError(t, webhook.Verify(sub.Secret, got.Body, got.Header), "signed over the final body")
	require.Equal(t, res.EventID, seen.Event.ID)
	require.Empty(t, seen.Subscription.Secret, "transforms never see the secret")
}

// Every delivery of an event sends the envelope Publish built once; a
// transform that writes into the body it is given changes its own request
// only, not the envelope the event's other deliveries share, and not the
// stored event (setup's store checks that on cleanup).
func TestTransformWritingIntoBodyLeavesSharedEnvelope(t *testing.T) {
	t.Parallel()
	plain, scribbled := newReceiver(t), newReceiver(t)
	b := setup(t, &webhook.Config{Transforms: map[string]webhook.TransformFunc{
		"scribble": func(ctx context.Context, r *webhook.OutgoingRequest) error {
			for i := range r.Body {
				r.Body[i] = ' '
			}
			copy(r.Body, `{"scribbled":true}`)
			return nil
		},
	}})
	ctx := context.Background()
	_, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: scribbled.URL, EventTypes: []string{"*"}, Transform: "scribble"})
	require.NoError(t, err)
	sub := b.subscribe(t, plain.URL, "*")
	b.start(t)
	res := b.publish(t, webhook.Event{Type: "order.created", Data: []byte(`{"n":1}`)})

	require.JSONEq(t, `{"scribbled":true}`, string(scribbled.next(t).Body))
	for range 2 { // the first delivery, then a redelivery of the same event
		got := plain.next(t)
		var env struct {
			ID   string
			Data json.RawMessage
		}
		require.NoError(t, json.Unmarshal(got.Body, &env))
		require.Equal(t, res.EventID, env.ID)
		require.JSONEq(t, `{"n":1}`, string(env.Data))
		require.NoError(t, webhook.Verify(sub.Secret, got.Body, got.Header))
		ev, err := b.d.EventGet(ctx, res.EventID)
		require.NoError(t, err)
		require.JSONEq(t, `{"n":1}`, string(ev.Data))
		dls, err := b.d.DeliveryList(ctx, webhook.DeliveryListParams{SubscriptionID: sub.ID})
		require.NoError(t, err)
		require.Len(t, dls, 1)
		require.Eventually(t, func() bool {
			dl, err := b.d.DeliveryGet(ctx, dls[0].ID)
			return err == nil && dl.State == webhook.DeliverySucceeded
		}, 10*time.Second, time.Millisecond)
		_, err = b.d.DeliveryRetry(ctx, dls[0].ID)
		require.NoError(t, err)
	}
}

// A transform may drop every header, even the map; the request is still
// sent, signed, and header values it changes in place are its own.
func TestTransformReplacesHeaders(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	b := setup(t, &webhook.Config{Transforms: map[string]webhook.TransformFunc{
		"no-headers": func(ctx context.Context, r *webhook.OutgoingRequest) error {
			r.Header = nil
			return nil
		},
		"in-place": func(ctx context.Context, r *webhook.OutgoingRequest) error {
			r.Header["User-Agent"][0] = "mine/1"
			r.Header["Content-Type"][0] = "application/vnd.mine+json"
			return nil
		},
	}})
	ctx := context.Background()
	for _, tf := range []string{"no-headers", "in-place"} {
		_, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: rcv.URL, EventTypes: []string{tf}, Transform: tf})
		require.NoError(t, err)
	}
	plain := b.subscribe(t, rcv.URL, "plain")
	b.start(t)

	b.publish(t, webhook.Event{Type: "no-headers"})
	got := rcv.next(t)
	require.NotEmpty(t, got.Header.Get("webhook-signature"))
	require.Empty(t, got.Header.Get("Content-Type"))

	b.publish(t, webhook.Event{Type: "in-place"})
	got = rcv.next(t)
	require.Equal(t, "mine/1", got.Header.Get("User-Agent"))
	require.Equal(t, "application/vnd.mine+json", got.Header.Get("Content-Type"))

	// The values changed in place were the transformed request's own.
	b.publish(t, webhook.Event{Type: "plain"})
	got = rcv.next(t)
	require.True(t, strings.HasPrefix(got.Header.Get("User-Agent"), "hooksmith/"), got.Header.Get("User-Agent"))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	require.NoError(t, webhook.Verify(plain.Secret, got.Body, got.Header))
}

// A transform may put credentials in the URL; they are sent as Basic
// auth, as http.Client sends them (second read: sending with the
// transport alone dropped them).
func TestTransformURLUserinfoIsBasicAuth(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	b := setup(t, &webhook.Config{Transforms: map[string]webhook.TransformFunc{
		"auth": func(ctx context.Context, r *webhook.OutgoingRequest) error {
			r.URL = strings.Replace(rcv.URL, "http://", "http://user:pass@", 1) + "/x"
			return nil
		},
	}})
	_, err := b.d.SubscriptionCreate(context.Background(), webhook.Subscription{URL: rcv.URL, EventTypes: []string{"*"}, Transform: "auth"})
	require.NoError(t, err)
	b.start(t)
	b.publish(t, webhook.Event{Type: "a"})
	require.Equal(t, "Basic dXNlcjpwYXNz", rcv.next(t).Header.Get("Authorization"))
}

func TestTransformSkipAndError(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	b := setup(t, &webhook.Config{
		Backoff: func(int) time.Duration { return time.Hour },
		Transforms: map[string]webhook.TransformFunc{
			"skip-tests": func(ctx context.Context, r *webhook.OutgoingRequest) error {
				if strings.HasPrefix(r.Event.Type, "test.") {
					return webhook.SkipDelivery("test events are not forwarded")
				}
				return errors.New("upstream mapping missing")
			},
			"bad-method": func(ctx context.Context, r *webhook.OutgoingRequest) error {
				r.Method = "PATCH"
				return nil
			},
		},
	})
	ctx := context.Background()
	_, err := b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: rcv.URL, EventTypes: []string{"test.*", "real.*"}, Transform: "skip-tests"})
	require.NoError(t, err)
	_, err = b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: rcv.URL, EventTypes: []string{"method.*"}, Transform: "bad-method"})
	require.NoError(t, err)
	_, err = b.d.SubscriptionCreate(ctx, webhook.Subscription{URL: rcv.URL, EventTypes: []string{"*"}, Transform: "nope"})
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.ErrorContains(t, err, `"nope" is not registered in Config.Transforms; registered: "bad-method", "skip-tests"`)
	b.start(t)

	b.publish(t, webhook.Event{Type: "test.ping"})
	u := b.nextUpdate(t)
	require.Equal(t, webhook.DeliverySkipped, u.State)
	require.Equal(t, "skipped by transform: test events are not forwarded", u.Attempt.Note)

	b.publish(t, webhook.Event{Type: "real.thing"})
	u = b.nextUpdate(t)
	require.Equal(t, webhook.DeliveryPending, u.State)
	require.Contains(t, u.LastError, `transform "skip-tests": upstream mapping missing`)

	b.publish(t, webhook.Event{Type: "method.x"})
	u = b.nextUpdate(t)
	require.Contains(t, u.LastError, `set method "PATCH"`)
	require.Empty(t, rcv.got)
}

type resolverFunc func(ctx context.Context, ref string) (string, error)

func (f resolverFunc) Resolve(ctx context.Context, ref string) (string, error) { return f(ctx, ref) }

func mustGet(t *testing.T, b *testBundle, id string) webhook.Subscription {
	t.Helper()
	s, err := b.d.SubscriptionGet(context.Background(), id)
	require.NoError(t, err)
	return s
}

func mustList(t *testing.T, b *testBundle) []webhook.Subscription {
	t.Helper()
	s, err := b.d.SubscriptionList(context.Background(), webhook.SubscriptionListParams{})
	require.NoError(t, err)
	return s
}
