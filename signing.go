package webhook

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
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
	v := &verifier{tolerance: tolerance}
	for _, key := range keys {
		v.hmacs = append(v.hmacs, newHMACSigner(key))
	}
	_, _, err := v.verify(payload, h, now)
	return err
}

// Signature versions of the Standard Webhooks specification.
const (
	sigVersionHMAC    = "v1"  // HMAC-SHA256 with a shared "whsec_" secret
	sigVersionEd25519 = "v1a" // ed25519 with a "whsk_" / "whpk_" key pair
)

// Prefixes of the text forms of ed25519 keys, as the Standard Webhooks
// specification names them.
const (
	// SigningKeyPrefix starts the text form of an ed25519 private signing
	// key (see SigningKey.Secret).
	SigningKeyPrefix = "whsk_"
	// PublicKeyPrefix starts the text form of an ed25519 public key (see
	// SigningKey.PublicKey). Receivers verify "v1a," signatures with it.
	PublicKeyPrefix = "whpk_"
)

// SigningKey is an ed25519 key pair for asymmetric Standard Webhooks
// signatures ("v1a,"). The sender keeps the private half (Secret) and gives
// receivers the public half (PublicKey), which can verify signatures but not
// make them. The zero value has no key; get one from NewSigningKey or
// DecodeSigningKey.
//
// Its text forms follow the specification: "whsk_" followed by the standard
// base64 of the 32-byte ed25519 seed (RFC 8032 private key) for the private
// key, "whpk_" followed by the standard base64 of the 32-byte public key.
type SigningKey struct {
	key ed25519.PrivateKey
}

// NewSigningKey returns a new random ed25519 signing key.
func NewSigningKey() (SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, fmt.Errorf("webhook: generating an ed25519 key: %w", err)
	}
	return SigningKey{key: priv}, nil
}

// DecodeSigningKey parses the text form of a private signing key: "whsk_"
// followed by the standard base64 of a 32-byte ed25519 seed. The prefix is
// optional.
func DecodeSigningKey(s string) (SigningKey, error) {
	seed, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SigningKeyPrefix))
	if err != nil {
		return SigningKey{}, fmt.Errorf("%w: the part after %q is not standard base64 (generate a key with NewSigningKey)", ErrInvalidSigningKey, SigningKeyPrefix)
	}
	if len(seed) != ed25519.SeedSize {
		return SigningKey{}, fmt.Errorf("%w: seed is %d bytes, want %d (generate a key with NewSigningKey)", ErrInvalidSigningKey, len(seed), ed25519.SeedSize)
	}
	return SigningKey{key: ed25519.NewKeyFromSeed(seed)}, nil
}

// DecodePublicKey parses the text form of a public key: "whpk_" followed by
// the standard base64 of a 32-byte ed25519 public key. The prefix is
// optional.
func DecodePublicKey(s string) (ed25519.PublicKey, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, PublicKeyPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: the part after %q is not standard base64 (get it from SigningKey.PublicKey)", ErrInvalidSigningKey, PublicKeyPrefix)
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public key is %d bytes, want %d (get it from SigningKey.PublicKey)", ErrInvalidSigningKey, len(key), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(key), nil
}

// Secret returns the private key's text form, "whsk_" + base64 of the seed.
// Store it like a password; it is "" for the zero SigningKey.
func (k SigningKey) Secret() string {
	if k.key == nil {
		return ""
	}
	return SigningKeyPrefix + base64.StdEncoding.EncodeToString(k.key.Seed())
}

// PublicKey returns the public key's text form, "whpk_" + base64 of the 32
// key bytes, to give to receivers (NewReceiver accepts it among its
// secrets). It is "" for the zero SigningKey.
func (k SigningKey) PublicKey() string {
	if k.key == nil {
		return ""
	}
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(k.key.Public().(ed25519.PublicKey))
}

// PrivateKey returns the ed25519 private key, nil for the zero SigningKey.
func (k SigningKey) PrivateKey() ed25519.PrivateKey { return k.key }

// String returns the public key's text form, so that printing or logging a
// SigningKey never reveals the private half.
func (k SigningKey) String() string { return k.PublicKey() }

// Sign returns a webhook-signature value for a message: "v1a," followed by
// the base64 ed25519 signature of msgID + "." + the Unix seconds of ts +
// "." + payload. It fails only for the zero SigningKey.
func (k SigningKey) Sign(msgID string, ts time.Time, payload []byte) (string, error) {
	if k.key == nil {
		return "", fmt.Errorf("%w: the SigningKey is empty (create one with NewSigningKey or DecodeSigningKey)", ErrInvalidSigningKey)
	}
	return formatSignature(sigVersionEd25519, ed25519.Sign(k.key, signedContent(nil, msgID, ts.Unix(), payload))), nil
}

// signedContent appends msgID + "." + unix + "." + payload to dst: the bytes
// every Standard Webhooks signature covers.
func signedContent(dst []byte, msgID string, unix int64, payload []byte) []byte {
	if dst == nil {
		dst = make([]byte, 0, len(msgID)+len(payload)+22)
	}
	dst = append(dst, msgID...)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, unix, 10)
	dst = append(dst, '.')
	return append(dst, payload...)
}

// formatSignature returns version + "," + base64(raw) with one allocation.
func formatSignature(version string, raw []byte) string {
	var b strings.Builder
	b.Grow(len(version) + 1 + base64.StdEncoding.EncodedLen(len(raw)))
	appendSignature(&b, version, raw)
	return b.String()
}

// appendSignature writes version + "," + base64(raw) to b. raw is at most
// 64 bytes (an ed25519 signature).
func appendSignature(b *strings.Builder, version string, raw []byte) {
	var enc [88]byte // base64 of 64 bytes
	n := base64.StdEncoding.EncodedLen(len(raw))
	base64.StdEncoding.Encode(enc[:n], raw)
	b.WriteString(version)
	b.WriteByte(',')
	b.Write(enc[:n])
}

// hmacSigner computes v1 signatures with one key. It keeps keyed HMAC
// states in a pool: hmac's Reset restores the precomputed inner and outer
// states, so a signature costs no key setup and, in steady state, no
// allocation beyond its result string. It is safe for concurrent use.
type hmacSigner struct {
	pool sync.Pool // of *hmacState
}

// hmacState is one reusable HMAC computation.
type hmacState struct {
	mac    hash.Hash
	prefix []byte // msgID + "." + timestamp + "."
	sum    [sha256.Size]byte
}

// newHMACSigner returns a signer for key (already decoded).
func newHMACSigner(key []byte) *hmacSigner {
	key = append([]byte(nil), key...)
	s := &hmacSigner{}
	s.pool.New = func() any {
		return &hmacState{mac: hmac.New(sha256.New, key), prefix: make([]byte, 0, 64)}
	}
	return s
}

// mac stores the HMAC-SHA256 of the signed content in dst.
func (s *hmacSigner) mac(dst *[sha256.Size]byte, msgID string, unix int64, payload []byte) {
	st := s.pool.Get().(*hmacState)
	st.mac.Reset()
	st.prefix = append(st.prefix[:0], msgID...)
	st.prefix = append(st.prefix, '.')
	st.prefix = strconv.AppendInt(st.prefix, unix, 10)
	st.prefix = append(st.prefix, '.')
	st.mac.Write(st.prefix)
	st.mac.Write(payload)
	*dst = [sha256.Size]byte(st.mac.Sum(st.sum[:0]))
	if cap(st.prefix) > 1024 { // do not keep a huge message ID's buffer
		st.prefix = make([]byte, 0, 64)
	}
	s.pool.Put(st)
}

// sign returns the "v1,<base64>" signature of a message.
func (s *hmacSigner) sign(msgID string, ts time.Time, payload []byte) string {
	var sum [sha256.Size]byte
	s.mac(&sum, msgID, ts.Unix(), payload)
	return formatSignature(sigVersionHMAC, sum[:])
}

// verifier checks Standard Webhooks headers and signatures against several
// HMAC secrets and ed25519 public keys. It is built once (NewReceiver) and
// safe for concurrent use.
type verifier struct {
	hmacs     []*hmacSigner
	publics   []ed25519.PublicKey
	tolerance time.Duration
}

// verify checks the headers and signatures of one message at now, and
// returns its webhook-id and webhook-timestamp. Errors wrap
// ErrMissingHeaders, ErrInvalidTimestamp, ErrTimestampTooOld,
// ErrTimestampTooNew or ErrNoMatchingSignature.
func (v *verifier) verify(payload []byte, h http.Header, now time.Time) (string, time.Time, error) {
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		var missing []string
		for _, name := range []string{HeaderID, HeaderTimestamp, HeaderSignature} {
			if h.Get(name) == "" {
				missing = append(missing, name)
			}
		}
		return "", time.Time{}, fmt.Errorf("%w: %s (a Standard Webhooks sender sets all three)", ErrMissingHeaders, strings.Join(missing, ", "))
	}
	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || unix < 0 {
		return "", time.Time{}, fmt.Errorf("%w: %s %q is not a decimal Unix time in seconds", ErrInvalidTimestamp, HeaderTimestamp, truncate(tsText, 32))
	}
	ts := time.Unix(unix, 0)
	if age := now.Sub(ts); age > v.tolerance {
		return "", time.Time{}, fmt.Errorf("%w: %s is %s old, tolerance is %s (check the clocks, or the message was replayed)", ErrTimestampTooOld, HeaderTimestamp, age.Round(time.Second), v.tolerance)
	}
	if ahead := ts.Sub(now); ahead > v.tolerance {
		return "", time.Time{}, fmt.Errorf("%w: %s is %s ahead, tolerance is %s (check the clocks)", ErrTimestampTooNew, HeaderTimestamp, ahead.Round(time.Second), v.tolerance)
	}
	if v.match(id, unix, payload, sigs) {
		return id, ts, nil
	}
	return "", time.Time{}, fmt.Errorf("%w: none of the %s values matches any configured secret or public key (is the secret the one the sender has, and the body passed unmodified?)", ErrNoMatchingSignature, HeaderSignature)
}

// maxSignatureEntries bounds how many entries of one webhook-signature
// header are examined, so that a header stuffed with thousands of
// signatures cannot make a request cost thousands of ed25519 verifications.
// Rotation needs two or three.
const maxSignatureEntries = 16

// match reports whether one of the signatures in header is valid for the
// message under one of v's keys. HMAC signatures are compared in constant
// time; each key's HMAC is computed at most once, however many "v1,"
// entries the header has.
func (v *verifier) match(id string, unix int64, payload []byte, header string) bool {
	var (
		content []byte              // signed content, built once, for v1a only
		wants   [][sha256.Size]byte // each key's HMAC, computed once, for v1 only
		entries int
	)
	for version, value := range signatureFields(header) {
		if entries++; entries > maxSignatureEntries {
			break
		}
		// raw holds a decoded signature; DecodedLen of a 64-byte
		// signature's base64 is 66.
		var raw [ed25519.SignatureSize + 2]byte
		switch version {
		case sigVersionHMAC:
			if len(v.hmacs) == 0 || base64.StdEncoding.DecodedLen(len(value)) > len(raw) {
				continue
			}
			n, err := base64.StdEncoding.Decode(raw[:], []byte(value))
			if err != nil || n != sha256.Size {
				continue
			}
			if wants == nil {
				wants = make([][sha256.Size]byte, len(v.hmacs))
				for i, s := range v.hmacs {
					s.mac(&wants[i], id, unix, payload)
				}
			}
			for i := range wants {
				if hmac.Equal(raw[:n], wants[i][:]) {
					return true
				}
			}
		case sigVersionEd25519:
			if len(v.publics) == 0 || base64.StdEncoding.DecodedLen(len(value)) > len(raw) {
				continue
			}
			n, err := base64.StdEncoding.Decode(raw[:], []byte(value))
			if err != nil || n != ed25519.SignatureSize {
				continue
			}
			if content == nil {
				content = signedContent(nil, id, unix, payload)
			}
			for _, pub := range v.publics {
				if ed25519.Verify(pub, content, raw[:n]) {
					return true
				}
			}
		}
	}
	return false
}

// signatureFields yields the version and value of each space-separated
// "version,value" entry of a webhook-signature header. Entries without a
// comma are skipped; values are not decoded.
func signatureFields(header string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for field := range strings.FieldsSeq(header) {
			version, value, ok := strings.Cut(field, ",")
			if !ok {
				continue
			}
			if !yield(version, value) {
				return
			}
		}
	}
}

// newVerifier builds a verifier from "whsec_" secrets (the prefix is
// optional) and "whpk_" public keys. A "whsk_" private key is refused: a
// receiver needs only the public half.
func newVerifier(secrets []string, tolerance time.Duration) (*verifier, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secret given: pass the subscription's \"whsec_\" secret, or a \"whpk_\" public key", ErrInvalidSecret)
	}
	v := &verifier{tolerance: tolerance}
	var errs []error
	for i, s := range secrets {
		switch {
		case strings.HasPrefix(s, PublicKeyPrefix):
			pub, err := DecodePublicKey(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("secret %d: %w", i, err))
				continue
			}
			v.publics = append(v.publics, pub)
		case strings.HasPrefix(s, SigningKeyPrefix):
			errs = append(errs, fmt.Errorf("%w: secret %d is a private \"whsk_\" signing key: give the receiver its public key (\"whpk_\", from SigningKey.PublicKey) and keep the private key with the sender", ErrInvalidSigningKey, i))
		default:
			key, err := DecodeSecret(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("secret %d: %w", i, err))
				continue
			}
			v.hmacs = append(v.hmacs, newHMACSigner(key))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return v, nil
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) { // not in the middle of a character
		n--
	}
	return s[:n] + "…"
}
