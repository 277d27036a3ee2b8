package receiver_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/receiver"
)

// mac is the HMAC-SHA256 of the concatenated parts, as every platform's
// documentation defines it.
func mac(secret string, parts ...string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

const ghBody = `{"action":"opened","number":7}`

func TestGitHubVerify(t *testing.T) {
	t.Parallel()
	const secret = "It's a Secret to Everybody"
	sig := "sha256=" + hex.EncodeToString(mac(secret, ghBody))
	good := func() http.Header {
		return headers(receiver.GitHubSignatureHeader, sig, receiver.GitHubEventHeader, "pull_request", receiver.GitHubDeliveryHeader, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	}
	tests := []struct {
		name    string
		secrets []string
		h       func() http.Header
		body    string
		want    error
	}{
		{"valid", []string{secret}, good, ghBody, nil},
		{"valid with the second secret", []string{"old", secret}, good, ghBody, nil},
		{"upper-case hex", []string{secret}, func() http.Header {
			h := good()
			h.Set(receiver.GitHubSignatureHeader, "sha256="+strings.ToUpper(hex.EncodeToString(mac(secret, ghBody))))
			return h
		}, ghBody, nil},
		{"wrong secret", []string{"other"}, good, ghBody, webhook.ErrNoMatchingSignature},
		{"body changed", []string{secret}, good, ghBody + " ", webhook.ErrNoMatchingSignature},
		{"no signature", []string{secret}, func() http.Header {
			h := good()
			h.Del(receiver.GitHubSignatureHeader)
			return h
		}, ghBody, webhook.ErrMissingHeaders},
		{"sha1 prefix", []string{secret}, func() http.Header {
			h := good()
			h.Set(receiver.GitHubSignatureHeader, "sha1="+hex.EncodeToString(mac(secret, ghBody)))
			return h
		}, ghBody, webhook.ErrMalformedHeader},
		{"not hex", []string{secret}, func() http.Header {
			h := good()
			h.Set(receiver.GitHubSignatureHeader, "sha256=zz")
			return h
		}, ghBody, webhook.ErrMalformedHeader},
		{"no event header", []string{secret}, func() http.Header {
			h := good()
			h.Del(receiver.GitHubEventHeader)
			return h
		}, ghBody, webhook.ErrMissingHeaders},
		{"form-encoded body", []string{secret}, func() http.Header {
			h := good()
			h.Set(receiver.GitHubSignatureHeader, "sha256="+hex.EncodeToString(mac(secret, "payload=%7B%7D")))
			return h
		}, "payload=%7B%7D", webhook.ErrMalformedPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := receiver.NewGitHubVerifier(tt.secrets)
			require.NoError(t, err)
			e, err := v.Verify([]byte(tt.body), tt.h())
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "72d3162e-cc78-11e3-81ab-4c9367dc0958", e.ID)
			require.Equal(t, "pull_request", e.Type)
			require.JSONEq(t, ghBody, string(e.Data))
		})
	}
}

func stripeHeader(secret string, t int64, body string) string {
	ts := strconv.FormatInt(t, 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, ".", body))
}

const stripeBody = `{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","created":1686089970,"type":"customer.created","data":{"object":{}}}`

func TestStripeVerify(t *testing.T) {
	t.Parallel()
	const secret = "whsec_test_secret"
	now := time.Unix(1_700_000_000, 0)
	good := stripeHeader(secret, now.Unix(), stripeBody)
	tests := []struct {
		name    string
		secrets []string
		header  string
		body    string
		want    error
	}{
		{"valid", []string{secret}, good, stripeBody, nil},
		{"valid among other signatures and schemes", []string{secret}, "t=" + strconv.FormatInt(now.Unix(), 10) +
			",v1=" + strings.Repeat("ab", 32) + ",v0=" + strings.Repeat("cd", 32) + "," + strings.Split(good, ",")[1], stripeBody, nil},
		{"valid with a rotated secret", []string{"whsec_old", secret}, good, stripeBody, nil},
		{"edge of the tolerance", []string{secret}, stripeHeader(secret, now.Add(-5*time.Minute).Unix(), stripeBody), stripeBody, nil},
		{"too old", []string{secret}, stripeHeader(secret, now.Add(-5*time.Minute-time.Second).Unix(), stripeBody), stripeBody, webhook.ErrTimestampTooOld},
		{"too new", []string{secret}, stripeHeader(secret, now.Add(5*time.Minute+time.Second).Unix(), stripeBody), stripeBody, webhook.ErrTimestampTooNew},
		{"wrong secret", []string{"whsec_other"}, good, stripeBody, webhook.ErrNoMatchingSignature},
		{"only v0", []string{secret}, strings.Replace(good, "v1=", "v0=", 1), stripeBody, webhook.ErrNoMatchingSignature},
		{"timestamp changed", []string{secret}, strings.Replace(good, "t=1700000000", "t=1700000001", 1), stripeBody, webhook.ErrNoMatchingSignature},
		{"no t", []string{secret}, strings.SplitN(good, ",", 2)[1], stripeBody, webhook.ErrMalformedHeader},
		{"t not a number", []string{secret}, "t=abc,v1=00", stripeBody, webhook.ErrInvalidTimestamp},
		{"no header", []string{secret}, "", stripeBody, webhook.ErrMissingHeaders},
		{"no type", []string{secret}, stripeHeader(secret, now.Unix(), `{"id":"evt_1"}`), `{"id":"evt_1"}`, webhook.ErrMalformedPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := receiver.NewStripeVerifier(tt.secrets, &webhook.ReceiverConfig{Now: func() time.Time { return now }})
			require.NoError(t, err)
			e, err := v.Verify([]byte(tt.body), headers(receiver.StripeSignatureHeader, tt.header))
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "evt_1NG8Du2eZvKYlo2CUI79vXWy", e.ID)
			require.Equal(t, "customer.created", e.Type)
			require.Equal(t, time.Unix(1686089970, 0).UTC(), e.Timestamp)
			require.JSONEq(t, stripeBody, string(e.Data))
		})
	}
}

func TestStripeTolerance(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	v, err := receiver.NewStripeVerifier([]string{"whsec_x"}, &webhook.ReceiverConfig{Tolerance: time.Hour, Now: func() time.Time { return now }})
	require.NoError(t, err)
	_, err = v.Verify([]byte(stripeBody), headers(receiver.StripeSignatureHeader, stripeHeader("whsec_x", now.Add(-59*time.Minute).Unix(), stripeBody)))
	require.NoError(t, err)
	_, err = receiver.NewStripeVerifier([]string{"whsec_x"}, &webhook.ReceiverConfig{Tolerance: -time.Second})
	require.ErrorIs(t, err, webhook.ErrInvalid)
}

const shopifyBody = `{"id":820982911946154508,"email":"jon@example.com"}`

func TestHMACVerifyShopify(t *testing.T) {
	t.Parallel()
	const secret = "shpss_client_secret"
	good := base64.StdEncoding.EncodeToString(mac(secret, shopifyBody))
	tests := []struct {
		name string
		sig  string
		body string
		want error
	}{
		{"valid", good, shopifyBody, nil},
		{"hex instead of base64", hex.EncodeToString(mac(secret, shopifyBody)), shopifyBody, webhook.ErrMalformedHeader},
		{"wrong secret", base64.StdEncoding.EncodeToString(mac("other", shopifyBody)), shopifyBody, webhook.ErrNoMatchingSignature},
		{"truncated", good[:20], shopifyBody, webhook.ErrMalformedHeader},
		{"missing", "", shopifyBody, webhook.ErrMissingHeaders},
	}
	v, err := receiver.NewHMACVerifier([]string{secret}, receiver.ShopifyScheme())
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := v.Verify([]byte(tt.body), headers("X-Shopify-Hmac-Sha256", tt.sig, "X-Shopify-Topic", "orders/create", "X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"))
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", e.ID)
			require.Equal(t, "orders/create", e.Type)
		})
	}
}

func TestHMACVerifyHexWithPrefix(t *testing.T) {
	t.Parallel()
	scheme := receiver.HMACScheme{SignatureHeader: "X-Signature", Prefix: "hmac-sha256=", Encoding: receiver.Hex}
	v, err := receiver.NewHMACVerifier([]string{"k1"}, scheme)
	require.NoError(t, err)
	e, err := v.Verify([]byte(`{}`), headers("X-Signature", "hmac-sha256="+hex.EncodeToString(mac("k1", `{}`))))
	require.NoError(t, err)
	require.Empty(t, e.ID)
	_, err = v.Verify([]byte(`{}`), headers("X-Signature", hex.EncodeToString(mac("k1", `{}`))))
	require.ErrorIs(t, err, webhook.ErrMalformedHeader)
}

func TestNewVerifiersValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		new  func() error
		want error
	}{
		{"github without secrets", func() error { _, err := receiver.NewGitHubVerifier(nil); return err }, webhook.ErrInvalidSecret},
		{"github empty secret", func() error { _, err := receiver.NewGitHub([]string{""}, nil); return err }, webhook.ErrInvalidSecret},
		{"stripe without secrets", func() error { _, err := receiver.NewStripe(nil, nil); return err }, webhook.ErrInvalidSecret},
		{"hmac without header", func() error { _, err := receiver.NewHMAC([]string{"k"}, receiver.HMACScheme{}, nil); return err }, webhook.ErrInvalid},
		{"hmac unknown encoding", func() error {
			_, err := receiver.NewHMACVerifier([]string{"k"}, receiver.HMACScheme{SignatureHeader: "X", Encoding: 9})
			return err
		}, webhook.ErrInvalid},
		{"receiver config", func() error {
			_, err := receiver.NewGitHub([]string{"k"}, &webhook.ReceiverConfig{MaxBodyBytes: -1})
			return err
		}, webhook.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.ErrorIs(t, tt.new(), tt.want)
		})
	}
	require.Equal(t, "hex", receiver.Hex.String())
	require.Equal(t, "base64", receiver.Base64.String())
}

// TestHandlers serves each platform's Receiver and checks status codes and
// deduplication by the platform's delivery ID.
func TestHandlers(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	cfg := &webhook.ReceiverConfig{Now: func() time.Time { return now }}
	gh, err := receiver.NewGitHub([]string{"gh"}, cfg)
	require.NoError(t, err)
	st, err := receiver.NewStripe([]string{"whsec_st"}, cfg)
	require.NoError(t, err)
	sh, err := receiver.NewHMAC([]string{"sh"}, receiver.ShopifyScheme(), cfg)
	require.NoError(t, err)

	tests := []struct {
		name    string
		r       *webhook.Receiver
		body    string
		good    http.Header
		badSig  http.Header
		wantTyp string
	}{
		{"github", gh, ghBody,
			headers("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac("gh", ghBody)), "X-GitHub-Event", "pull_request", "X-GitHub-Delivery", "d1"),
			headers("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac("xx", ghBody)), "X-GitHub-Event", "pull_request", "X-GitHub-Delivery", "d1"),
			"pull_request"},
		{"stripe", st, stripeBody,
			headers("Stripe-Signature", stripeHeader("whsec_st", now.Unix(), stripeBody)),
			headers("Stripe-Signature", stripeHeader("whsec_xx", now.Unix(), stripeBody)),
			"customer.created"},
		{"shopify", sh, shopifyBody,
			headers("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac("sh", shopifyBody)), "X-Shopify-Topic", "orders/create", "X-Shopify-Webhook-Id", "w1"),
			headers("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac("xx", shopifyBody)), "X-Shopify-Topic", "orders/create", "X-Shopify-Webhook-Id", "w1"),
			"orders/create"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var types []string
			srv := httptest.NewServer(tt.r.Handler(func(_ context.Context, e webhook.Event) error {
				types = append(types, e.Type)
				return nil
			}))
			defer srv.Close()
			post := func(h http.Header) int {
				req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(tt.body))
				require.NoError(t, err)
				req.Header = h
				// The server's own client: another subtest's srv.Close
				// closes http.DefaultTransport's idle connections.
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				return resp.StatusCode
			}
			require.Equal(t, http.StatusUnauthorized, post(tt.badSig))
			require.Equal(t, http.StatusNoContent, post(tt.good))
			require.Equal(t, http.StatusNoContent, post(tt.good), "a redelivery is acknowledged")
			require.Equal(t, []string{tt.wantTyp}, types, fmt.Sprintf("%s handled once", tt.name))
		})
	}
}
