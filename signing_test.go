package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Test vectors of the Standard Webhooks reference libraries
// (libraries/go/webhook_test.go and webhook_asymmetric_test.go in
// github.com/standard-webhooks/standard-webhooks).
const (
	specSecret     = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specMsgID      = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specUnix       = 1614265330
	specPayload    = `{"test": 2432232314}`
	specSignature  = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	specSigningKey = "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="
	specSignatureA = "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="
)

// specHMAC computes a v1 signature straight from the specification's words,
// with nothing of signing.go: base64(HMAC-SHA256(key, id.timestamp.payload)),
// the key being the base64-decoded part of the secret after "whsec_".
func specHMAC(t testing.TB, secret, id string, unix int64, payload []byte) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.%s", id, unix, payload)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// swHeaders returns Standard Webhooks headers.
func swHeaders(id string, unix int64, sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(unix, 10))
	h.Set(HeaderSignature, sig)
	return h
}

func TestSignSpecVectors(t *testing.T) {
	t.Parallel()
	ts := time.Unix(specUnix, 0)

	got, err := Sign(specSecret, specMsgID, ts, []byte(specPayload))
	require.NoError(t, err)
	require.Equal(t, specSignature, got)
	require.Equal(t, specSignature, specHMAC(t, specSecret, specMsgID, specUnix, []byte(specPayload)))

	key, err := DecodeSecret(specSecret)
	require.NoError(t, err)
	require.Equal(t, specSignature, newHMACSigner(key).sign(specMsgID, ts, []byte(specPayload)))

	sk, err := DecodeSigningKey(specSigningKey)
	require.NoError(t, err)
	got, err = sk.Sign(specMsgID, ts, []byte(specPayload))
	require.NoError(t, err)
	require.Equal(t, specSignatureA, got)
	require.Equal(t, specSigningKey, sk.Secret())
}

func TestVerifySpecVectors(t *testing.T) {
	t.Parallel()
	sk, err := DecodeSigningKey(specSigningKey)
	require.NoError(t, err)
	now := time.Unix(specUnix, 0).Add(time.Minute)
	tests := []struct {
		name    string
		secrets []string
		sig     string
	}{
		{"v1 with prefix", []string{specSecret}, specSignature},
		{"v1 without prefix", []string{strings.TrimPrefix(specSecret, SecretPrefix)}, specSignature},
		{"v1a with public key", []string{sk.PublicKey()}, specSignatureA},
		{"v1 among unknown versions", []string{specSecret}, "v2,abc v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + specSignature + " v1a,xyz"},
		{"second secret matches", []string{NewSecret(), specSecret}, specSignature},
		{"both signatures, public key only", []string{sk.PublicKey()}, specSignature + " " + specSignatureA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := newVerifier(tt.secrets, DefaultTolerance)
			require.NoError(t, err)
			id, ts, err := v.verify([]byte(specPayload), swHeaders(specMsgID, specUnix, tt.sig), now)
			require.NoError(t, err)
			require.Equal(t, specMsgID, id)
			require.Equal(t, int64(specUnix), ts.Unix())
		})
	}
}

func TestSignMatchesSpecForRandomInputs(t *testing.T) {
	t.Parallel()
	for i := range 20 {
		secret := NewSecret()
		id := "msg_" + strconv.Itoa(i)
		payload := []byte(strings.Repeat("x", i*37))
		ts := time.Unix(int64(1_700_000_000+i*1013), 0)
		got, err := Sign(secret, id, ts, payload)
		require.NoError(t, err)
		require.Equal(t, specHMAC(t, secret, id, ts.Unix(), payload), got)
		require.NoError(t, Verify(secret, payload, swHeaders(id, time.Now().Unix(), mustSign(t, secret, id, time.Now(), payload))))
	}
}

func mustSign(t testing.TB, secret, id string, ts time.Time, payload []byte) string {
	sig, err := Sign(secret, id, ts, payload)
	require.NoError(t, err)
	return sig
}

func TestVerifyFailures(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	now := time.Unix(1_700_000_000, 0)
	payload := []byte(`{"type":"a.b","data":{}}`)
	good := mustSign(t, secret, "msg_1", now, payload)
	tests := []struct {
		name    string
		headers http.Header
		payload []byte
		want    error
	}{
		{"no headers", http.Header{}, payload, ErrMissingHeaders},
		{"no id", swHeaders("", now.Unix(), good), payload, ErrMissingHeaders},
		{"no signature", swHeaders("msg_1", now.Unix(), ""), payload, ErrMissingHeaders},
		{"timestamp not a number", func() http.Header {
			h := swHeaders("msg_1", now.Unix(), good)
			h.Set(HeaderTimestamp, "12:00")
			return h
		}(), payload, ErrInvalidTimestamp},
		{"negative timestamp", swHeaders("msg_1", -5, good), payload, ErrInvalidTimestamp},
		{"too old", swHeaders("msg_1", now.Add(-DefaultTolerance-time.Second).Unix(), mustSign(t, secret, "msg_1", now.Add(-DefaultTolerance-time.Second), payload)), payload, ErrTimestampTooOld},
		{"too new", swHeaders("msg_1", now.Add(DefaultTolerance+time.Second).Unix(), mustSign(t, secret, "msg_1", now.Add(DefaultTolerance+time.Second), payload)), payload, ErrTimestampTooNew},
		{"other secret", swHeaders("msg_1", now.Unix(), mustSign(t, NewSecret(), "msg_1", now, payload)), payload, ErrNoMatchingSignature},
		{"body changed", swHeaders("msg_1", now.Unix(), good), append([]byte(" "), payload...), ErrNoMatchingSignature},
		{"id changed", swHeaders("msg_2", now.Unix(), good), payload, ErrNoMatchingSignature},
		{"timestamp changed", swHeaders("msg_1", now.Unix()+1, good), payload, ErrNoMatchingSignature},
		{"only unknown versions", swHeaders("msg_1", now.Unix(), "v2"+good[2:]), payload, ErrNoMatchingSignature},
		{"signature not base64", swHeaders("msg_1", now.Unix(), "v1,!!!"), payload, ErrNoMatchingSignature},
		{"truncated signature", swHeaders("msg_1", now.Unix(), good[:len(good)-4]), payload, ErrNoMatchingSignature},
		{"no comma", swHeaders("msg_1", now.Unix(), "v1"+good[3:]), payload, ErrNoMatchingSignature},
		{"v1a for an HMAC-only receiver", swHeaders("msg_1", now.Unix(), "v1a,"+good[3:]), payload, ErrNoMatchingSignature},
	}
	v, err := newVerifier([]string{secret}, DefaultTolerance)
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := v.verify(tt.payload, tt.headers, now)
			require.ErrorIs(t, err, tt.want)
		})
	}
	// The tolerance boundary itself is accepted, both ways.
	for _, d := range []time.Duration{-DefaultTolerance, DefaultTolerance} {
		ts := now.Add(d)
		_, _, err := v.verify(payload, swHeaders("msg_1", ts.Unix(), mustSign(t, secret, "msg_1", ts, payload)), now)
		require.NoError(t, err, d)
	}
}

func TestVerifyExaminesAtMost16Entries(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	k, err := NewSigningKey()
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	payload := []byte(`{}`)
	good := mustSign(t, secret, "msg_1", now, payload)
	junk := "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
	v, err := newVerifier([]string{secret, k.PublicKey()}, DefaultTolerance)
	require.NoError(t, err)
	tests := []struct {
		junk int
		want error
	}{{0, nil}, {15, nil}, {16, ErrNoMatchingSignature}, {5000, ErrNoMatchingSignature}}
	for _, tt := range tests {
		header := strings.Repeat(junk+" ", tt.junk) + good
		_, _, err := v.verify(payload, swHeaders("msg_1", now.Unix(), header), now)
		if tt.want == nil {
			require.NoError(t, err, tt.junk)
		} else {
			require.ErrorIs(t, err, tt.want, tt.junk)
		}
	}
}

func TestVerifyEd25519WrongKey(t *testing.T) {
	t.Parallel()
	signer, err := NewSigningKey()
	require.NoError(t, err)
	other, err := NewSigningKey()
	require.NoError(t, err)
	now := time.Now()
	sig, err := signer.Sign("msg_1", now, []byte("{}"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(sig, "v1a,"))

	v, err := newVerifier([]string{other.PublicKey()}, DefaultTolerance)
	require.NoError(t, err)
	_, _, err = v.verify([]byte("{}"), swHeaders("msg_1", now.Unix(), sig), now)
	require.ErrorIs(t, err, ErrNoMatchingSignature)

	v, err = newVerifier([]string{other.PublicKey(), signer.PublicKey()}, DefaultTolerance)
	require.NoError(t, err)
	_, _, err = v.verify([]byte("{}"), swHeaders("msg_1", now.Unix(), sig), now)
	require.NoError(t, err)
	_, _, err = v.verify([]byte("{} "), swHeaders("msg_1", now.Unix(), sig), now)
	require.ErrorIs(t, err, ErrNoMatchingSignature)
}

func TestSigningKeyTextForms(t *testing.T) {
	t.Parallel()
	k, err := NewSigningKey()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(k.Secret(), SigningKeyPrefix))
	require.True(t, strings.HasPrefix(k.PublicKey(), PublicKeyPrefix))
	require.Equal(t, k.PublicKey(), k.String(), "String must not reveal the private key")
	require.Equal(t, k.PublicKey(), fmt.Sprint(k))

	back, err := DecodeSigningKey(k.Secret())
	require.NoError(t, err)
	require.True(t, back.PrivateKey().Equal(k.PrivateKey()))
	pub, err := DecodePublicKey(k.PublicKey())
	require.NoError(t, err)
	require.True(t, pub.Equal(k.PrivateKey().Public()))

	var zero SigningKey
	require.Empty(t, zero.Secret())
	require.Empty(t, zero.PublicKey())
	_, err = zero.Sign("msg_1", time.Now(), nil)
	require.ErrorIs(t, err, ErrInvalidSigningKey)

	for _, bad := range []string{"whsk_not base64", "whsk_" + base64.StdEncoding.EncodeToString(make([]byte, 31))} {
		_, err := DecodeSigningKey(bad)
		require.ErrorIs(t, err, ErrInvalidSigningKey, bad)
	}
	for _, bad := range []string{"whpk_%%", "whpk_" + base64.StdEncoding.EncodeToString(make([]byte, 33))} {
		_, err := DecodePublicKey(bad)
		require.ErrorIs(t, err, ErrInvalidSigningKey, bad)
	}
}

func TestNewVerifierRejectsBadSecrets(t *testing.T) {
	t.Parallel()
	k, err := NewSigningKey()
	require.NoError(t, err)
	tests := []struct {
		name    string
		secrets []string
		want    error
	}{
		{"none", nil, ErrInvalidSecret},
		{"not base64", []string{"whsec_***"}, ErrInvalidSecret},
		{"too short", []string{"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 16))}, ErrInvalidSecret},
		{"private key", []string{k.Secret()}, ErrInvalidSigningKey},
		{"bad public key", []string{"whpk_AAAA"}, ErrInvalidSigningKey},
		{"one bad among good", []string{NewSecret(), "whsec_x"}, ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newVerifier(tt.secrets, DefaultTolerance)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestHMACSignerConcurrentUse(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	key, err := DecodeSecret(secret)
	require.NoError(t, err)
	s := newHMACSigner(key)
	ts := time.Unix(1_700_000_000, 0)
	done := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 50 {
				id := fmt.Sprintf("msg_%d_%d", g, i)
				payload := []byte(strings.Repeat("p", i))
				if got, want := s.sign(id, ts, payload), mustSign(t, secret, id, ts, payload); got != want {
					done <- fmt.Errorf("%s: got %s, want %s", id, got, want)
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		require.NoError(t, <-done)
	}
}

func BenchmarkSign(b *testing.B) {
	key, err := DecodeSecret(NewSecret())
	require.NoError(b, err)
	s := newHMACSigner(key)
	ts := time.Unix(1_700_000_000, 0)
	for _, size := range []int{1 << 10, 64 << 10} {
		payload := make([]byte, size)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				_ = s.sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts, payload)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	secret := NewSecret()
	v, err := newVerifier([]string{secret}, DefaultTolerance)
	require.NoError(b, err)
	now := time.Unix(1_700_000_000, 0)
	for _, size := range []int{1 << 10, 64 << 10} {
		payload := make([]byte, size)
		h := swHeaders("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now.Unix(), mustSign(b, secret, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, payload))
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, _, err := v.verify(payload, h, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func FuzzParseSignatureHeader(f *testing.F) {
	for _, seed := range []string{
		"", " ", "v1", "v1,", ",", "v1,abc", specSignature,
		specSignature + " " + specSignatureA, "  v1,a\tv2,b\nv1a,c  ", "v1,a,b", ",,, ,", "v1,\u00a0x",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		fields := strings.Fields(header)
		n := 0
		for version, value := range signatureFields(header) {
			entry := version + "," + value
			require.Contains(t, fields, entry)
			require.NotContains(t, version, ",")
			require.Equal(t, entry, strings.TrimSpace(entry))
			n++
		}
		require.LessOrEqual(t, n, len(fields))
	})
}

// FuzzVerify checks that arbitrary headers and bodies never panic, and that
// Verify accepts a message only when one of its signatures decodes to the
// signature the specification defines for the secret.
func FuzzVerify(f *testing.F) {
	secret := specSecret
	now := time.Unix(specUnix, 0)
	f.Add(specMsgID, strconv.Itoa(specUnix), specSignature, []byte(specPayload), false)
	f.Add(specMsgID, strconv.Itoa(specUnix), "", []byte(specPayload), true)
	f.Add("msg_1", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", []byte(`{}`), false)
	f.Add("msg_1", "abc", "v1a,AAAA v1,", []byte(`{"type":1}`), false)
	f.Add("", "", "", []byte(nil), false)
	f.Add("id with space", "-1", "v1,"+strings.Repeat("A", 200), []byte(`[]`), true)
	f.Add("m", "1614265330", "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", []byte(`{"type":"x","timestamp":"bad"}`), false)

	r, err := NewReceiver([]string{secret}, &ReceiverConfig{Now: func() time.Time { return now }})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, id, ts, sigs string, body []byte, sign bool) {
		unix, tsErr := strconv.ParseInt(ts, 10, 64)
		if sign && tsErr == nil {
			sigs = specHMAC(t, secret, id, unix, body) + " " + sigs
		}
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sigs)

		_, _ = r.Verify(body, h) // never panics
		gotID, _, err := r.std.verify(body, h, now)
		if err != nil {
			return
		}
		require.Equal(t, h.Get(HeaderID), gotID)
		want, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(specHMAC(t, secret, h.Get(HeaderID), unix, body), "v1,"))
		require.NoError(t, err)
		matched := false
		for _, field := range strings.Fields(h.Get(HeaderSignature)) {
			version, value, _ := strings.Cut(field, ",")
			raw, err := base64.StdEncoding.DecodeString(value)
			if version == "v1" && err == nil && hmac.Equal(raw, want) {
				matched = true
			}
		}
		require.True(t, matched, "accepted a message without a valid signature")
	})
}

// BenchmarkDispatcherSign measures the sender's signing path: a
// subscription's cached signer, as the delivery loop uses it.
func BenchmarkDispatcherSign(b *testing.B) {
	sub := &Subscription{ID: "sub_1", Secret: NewSecret()}
	keys, err := decodeKeys(sub)
	if err != nil {
		b.Fatal(err)
	}
	c := &compiled{keys: keys}
	ts := time.Unix(1_700_000_000, 0)
	for _, size := range []int{1 << 10, 64 << 10} {
		payload := make([]byte, size)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				_ = c.sign("evt_1", ts, payload)
			}
		})
	}
}
