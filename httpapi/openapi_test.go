package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// openAPIDoc fetches the document the handler serves.
func openAPIDoc(t *testing.T, b *testBundle) map[string]any {
	t.Helper()
	w := b.do(t, req{method: "GET", path: "/openapi.json"})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var doc map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
	return doc
}

// operations lists "METHOD /path" of every operation in doc.
func operations(doc map[string]any) []string {
	var ops []string
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			if method == "parameters" {
				continue
			}
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(ops)
	return ops
}

// TestOpenAPIMatchesRoutes checks that every served route is documented
// and every documented route is served, with publishing on and off.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	for _, allowPublish := range []bool{false, true} {
		t.Run(fmt.Sprintf("AllowPublish=%v", allowPublish), func(t *testing.T) {
			t.Parallel()
			b := setup(t, &bundleOpts{cfg: Config{AllowPublish: allowPublish}})
			doc := openAPIDoc(t, b)
			require.Equal(t, "3.1.0", doc["openapi"])
			var served []string
			for _, rt := range b.h.(*api).routes {
				served = append(served, rt.method+" "+rt.path)
			}
			sort.Strings(served)
			require.Equal(t, served, operations(doc))
			require.Equal(t, allowPublish, slices.Contains(served, "POST /events"))
		})
	}
}

// requestBodies are valid bodies for the operations that take one.
var requestBodies = map[string]string{
	"createSubscription":       `{"url": "https://example.com/h", "eventTypes": ["order.created"], "auth": {"bearer": {"token": "t"}}}`,
	"replaceSubscription":      `{"url": "https://example.com/h", "eventTypes": ["order.created"], "headers": {"X-A": "1"}}`,
	"updateSubscription":       `{"name": "renamed", "metadata": {"k": "v"}}`,
	"rotateSubscriptionSecret": `{}`,
	"publishEvent":             `{"type": "order.created", "data": {"n": 1}}`,
}

// TestOpenAPIDescribesAnswers calls every documented operation, as an
// admin of the resources' tenant, of another tenant and anonymously, and
// checks that the status is documented for it, the body fits the
// documented schema, and no stored secret or credential is answered.
func TestOpenAPIDescribesAnswers(t *testing.T) {
	t.Parallel()
	probe := setup(t, &bundleOpts{cfg: Config{AllowPublish: true}})
	doc := openAPIDoc(t, probe)
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			if method == "parameters" {
				continue
			}
			op := op.(map[string]any)
			id, _ := op["operationId"].(string)
			require.NotEmpty(t, id, "%s %s has no operationId", method, path)
			for _, token := range []string{tokAdminA, tokAnon, tokAdminB} {
				t.Run(id+" as "+strconv.Quote(token), func(t *testing.T) {
					t.Parallel()
					b := setup(t, &bundleOpts{cfg: Config{AllowPublish: true}})
					// A finished (cancelled) delivery, so that retry succeeds.
					dlv := b.publish(t, "a", "invoice.paid").DeliveryIDs[0]
					require.NoError(t, b.d.SubscriptionDelete(t.Context(), b.subA2.ID))
					target := path
					if strings.HasPrefix(path, "/deliveries/") {
						target = strings.ReplaceAll(target, "{id}", dlv)
					}
					target = strings.ReplaceAll(target, "{id}", b.subA.ID)
					body := requestBodies[id]
					ct := ""
					if method == "patch" {
						ct = "application/merge-patch+json"
					}
					w := b.do(t, req{method: strings.ToUpper(method), path: target, token: token, body: body, contentType: ct})
					// Credentials are never answered, nor a secret once set.
					require.NotContains(t, w.Body.String(), "s3cret-token")
					require.NotContains(t, w.Body.String(), b.subA.Secret)
					responses := op["responses"].(map[string]any)
					resp, ok := responses[strconv.Itoa(w.Code)].(map[string]any)
					require.True(t, ok, "%s %s answered %d, which is not documented: %s", method, target, w.Code, w.Body.String())
					resp = resolve(t, doc, resp)
					content, _ := resp["content"].(map[string]any)
					if content == nil {
						require.Empty(t, w.Body.String())
						return
					}
					schema := content["application/json"].(map[string]any)["schema"].(map[string]any)
					var got any
					require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
					checkSchema(t, doc, schema, got, "$")
				})
			}
		}
	}
}

// resolve follows a "$ref" within doc.
func resolve(t *testing.T, doc map[string]any, v map[string]any) map[string]any {
	t.Helper()
	for {
		ref, ok := v["$ref"].(string)
		if !ok {
			return v
		}
		var cur any = doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, ok := cur.(map[string]any)
			require.True(t, ok, "bad $ref %s", ref)
			cur, ok = m[part]
			require.True(t, ok, "bad $ref %s", ref)
		}
		v = cur.(map[string]any)
	}
}

// checkSchema checks v against the subset of JSON Schema the document
// uses: $ref, type, properties, required, additionalProperties, items,
// enum and format date-time.
func checkSchema(t *testing.T, doc, schema map[string]any, v any, at string) {
	t.Helper()
	schema = resolve(t, doc, schema)
	if types := schemaTypes(schema["type"]); len(types) > 0 {
		require.Contains(t, types, jsonTypeOf(v), "%s: %v has the wrong type", at, v)
	}
	if enum, ok := schema["enum"].([]any); ok {
		require.Contains(t, enum, v, "%s: not in the enum", at)
	}
	if schema["format"] == "date-time" {
		_, err := time.Parse(time.RFC3339Nano, v.(string))
		require.NoError(t, err, "%s", at)
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asList(schema["required"]) {
			require.Contains(t, v, r, "%s: required member missing", at)
		}
		for k, member := range v {
			if p, ok := props[k].(map[string]any); ok {
				checkSchema(t, doc, p, member, at+"."+k)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				require.True(t, ap, "%s: member %q is not documented", at, k)
			case map[string]any:
				checkSchema(t, doc, ap, member, at+"."+k)
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, item := range v {
				checkSchema(t, doc, items, item, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	}
}

func schemaTypes(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		return asList(v)
	}
	return nil
}

func asList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = x.(string)
	}
	return out
}

func jsonTypeOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}

// TestOpenAPIErrorsFitTheSchema checks error answers of every kind
// against the Error schema.
func TestOpenAPIErrorsFitTheSchema(t *testing.T) {
	t.Parallel()
	b := setup(t, &bundleOpts{cfg: Config{MaxBodyBytes: 64}})
	doc := openAPIDoc(t, b)
	errSchema := map[string]any{"$ref": "#/components/schemas/Error"}
	for _, r := range []req{
		{method: "GET", path: "/nope", token: tokAdminA},
		{method: "DELETE", path: "/subscriptions", token: tokAdminA},
		{method: "GET", path: "/subscriptions"},
		{method: "POST", path: "/subscriptions", token: tokUserA, body: `{}`},
		{method: "POST", path: "/subscriptions", token: tokAdminA, body: `{`},
		{method: "POST", path: "/subscriptions", token: tokAdminA, body: `{}`},
		{method: "POST", path: "/subscriptions", token: tokAdminA, body: `{}`, contentType: "text/plain"},
		{method: "POST", path: "/subscriptions", token: tokAdminA, body: `{"name": "` + strings.Repeat("x", 100) + `"}`},
	} {
		w := b.do(t, r)
		require.GreaterOrEqual(t, w.Code, 400)
		var got any
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
		checkSchema(t, doc, errSchema, got, "$")
	}
}

// TestMountedUnderPrefix serves the API under /webhooks/ over real HTTP on
// 127.0.0.1, as the package documentation shows.
func TestMountedUnderPrefix(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/webhooks/", http.StripPrefix("/webhooks", b.h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	get := func(path, token string) (*http.Response, string) {
		r, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+path, nil)
		require.NoError(t, err)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client().Do(r)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(body)
	}
	resp, body := get("/webhooks/subscriptions/"+b.subA.ID, tokAdminA)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Contains(t, body, b.subA.ID)

	resp, body = get("/webhooks/openapi.json", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc struct {
		Servers []struct{ URL string } `json:"servers"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	require.Equal(t, "/webhooks", doc.Servers[0].URL, "the document's server is the mount prefix")

	direct := openAPIDoc(t, b)
	require.Equal(t, "/", direct["servers"].([]any)[0].(map[string]any)["url"])
}
