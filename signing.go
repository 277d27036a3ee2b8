package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names, as sent by the Dispatcher and checked by
// Verify.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every symmetric signing secret.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far webhook-timestamp may be from now, either way,
// for Verify to accept a message.
const DefaultTolerance = 5 * time.Minute

// Secret key sizes accepted by the Standard Webhooks specification.
const (
	secretMinBytes = 24
	secretMaxBytes = 64
	secretNewBytes = 32
)

// NewSecret returns a new random signing secret: "whsec_" followed by the
// standard base64 encoding of 32 random bytes.
func NewSecret() string {
	key := make([]byte, secretNewBytes)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+).
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// DecodeSecret returns the key bytes of a "whsec_" secret. The prefix is
// optional; the rest must be standard base64 of 24 to 64 bytes.
func DecodeSecret(secret string) ([]byte, error) {
	enc := strings.TrimPrefix(secret, SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: the part after %q is not standard base64 (generate one with NewSecret)", ErrInvalidSecret, SecretPrefix)
	}
	if len(key) < secretMinBytes || len(key) > secretMaxBytes {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d to %d (generate one with NewSecret)", ErrInvalidSecret, len(key), secretMinBytes, secretMaxBytes)
	}
	return key, nil
}

// Sign returns the webhook-signature header value for a message: "v1,"
// followed by the base64 HMAC-SHA256, keyed with the secret, of
// msgID + "." + the Unix seconds of ts + "." + payload.
func Sign(secret, msgID string, ts time.Time, payload []byte) (string, error) {
	key, err := DecodeSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(signV1(key, msgID, ts.Unix(), payload)), nil
}

// signV1 returns the raw HMAC-SHA256 of the signed content.
func signV1(key []byte, msgID string, unix int64, payload []byte) []byte {
	mac := hmac.New(sha256.New, key)
	var num [20]byte
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(num[:0], unix, 10))
	mac.Write([]byte{'.'})
	mac.Write(payload)
	return mac.Sum(nil)
}

// Verify checks a Standard Webhooks message: the webhook-id,
// webhook-timestamp and webhook-signature headers must be present, the
// timestamp within DefaultTolerance of the current time, and one of the
// space-separated "v1," signatures must match the secret. Signatures of
// other versions are skipped. Errors wrap ErrInvalidSecret,
// ErrMissingHeaders, ErrInvalidTimestamp, ErrTimestampTooOld,
// ErrTimestampTooNew or ErrNoMatchingSignature.
//
// Verify does not parse the payload nor remember message IDs; Receiver does
// both.
func Verify(secret string, payload []byte, h http.Header) error {
	key, err := DecodeSecret(secret)
	if err != nil {
		return err
	}
	return verify([][]byte{key}, payload, h, time.Now(), DefaultTolerance)
}

// verify is Verify with several keys, an explicit time and tolerance.
func verify(keys [][]byte, payload []byte, h http.Header, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		var missing []string
		for _, name := range []string{HeaderID, HeaderTimestamp, HeaderSignature} {
			if h.Get(name) == "" {
				missing = append(missing, name)
			}
		}
		return fmt.Errorf("%w: %s", ErrMissingHeaders, strings.Join(missing, ", "))
	}
	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not a decimal Unix time in seconds", ErrInvalidTimestamp, HeaderTimestamp, truncate(tsText, 32))
	}
	ts := time.Unix(unix, 0)
	if now.Sub(ts) > tolerance {
		return fmt.Errorf("%w: %s is %s old, tolerance is %s", ErrTimestampTooOld, HeaderTimestamp, now.Sub(ts).Round(time.Second), tolerance)
	}
	if ts.Sub(now) > tolerance {
		return fmt.Errorf("%w: %s is %s ahead, tolerance is %s", ErrTimestampTooNew, HeaderTimestamp, ts.Sub(now).Round(time.Second), tolerance)
	}
	for _, key := range keys {
		want := signV1(key, id, unix, payload)
		for _, sig := range strings.Fields(sigs) {
			version, value, ok := strings.Cut(sig, ",")
			if !ok || version != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(value)
			if err != nil {
				continue
			}
			if subtle.ConstantTimeCompare(got, want) == 1 {
				return nil
			}
		}
	}
	return ErrNoMatchingSignature
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
