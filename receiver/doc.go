// Package receiver verifies webhooks signed with schemes other than
// Standard Webhooks, with the same Verify and Handler shape as
// webhook.Receiver:
//
//   - GitHub: X-Hub-Signature-256 (NewGitHub, NewGitHubVerifier);
//   - Stripe: Stripe-Signature with a timestamp (NewStripe,
//     NewStripeVerifier);
//   - any "HMAC-SHA256 of the body in a header" scheme, hex or base64, such
//     as Shopify's X-Shopify-Hmac-Sha256 (NewHMAC, NewHMACVerifier,
//     ShopifyScheme).
//
// Each XxxVerifier implements webhook.Verifier; each NewXxx wraps one in a
// *webhook.Receiver (with webhook.NewReceiverFor), whose Handler brings the
// body limit, status codes, deduplication by Event.ID and webhook.Permanent.
// Verification errors wrap the sentinel errors of package webhook
// (webhook.ErrNoMatchingSignature and so on), so errors.Is works alike
// for every scheme.
//
// Secrets are given exactly as the platform shows them; they are used as
// HMAC keys byte for byte. Several secrets may be given while one is being
// rotated: a signature matching any of them is accepted.
//
// Durable deduplication, across restarts, lives in package
// receiver/boltdedupe.
package receiver
