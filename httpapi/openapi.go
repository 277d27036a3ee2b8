package httpapi

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// openAPIDocument is the OpenAPI 3.1 description of every route, served at
// GET /openapi.json. POST /events is removed from it unless
// Config.AllowPublish is set.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves GET /openapi.json, with its server URL set to the prefix
// the handler is mounted under, so that tools call the right paths.
func (a *api) openAPI(c *call) (int, any, error) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		return 0, nil, err
	}
	doc["servers"] = []any{map[string]any{"url": mountPrefix(c.r)}}
	if !a.cfg.AllowPublish {
		paths, _ := doc["paths"].(map[string]any)
		if ev, ok := paths["/events"].(map[string]any); ok {
			delete(ev, "post")
			if len(ev) == 0 {
				delete(paths, "/events")
			}
		}
	}
	return http.StatusOK, doc, nil
}

// mountPrefix returns the path prefix stripped before the request reached
// this handler (by http.StripPrefix), or "/" when there was none.
func mountPrefix(r *http.Request) string {
	orig := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && r.RequestURI != "" {
		orig = u.Path
	}
	prefix, ok := strings.CutSuffix(orig, r.URL.Path)
	if !ok || prefix == "" {
		return "/"
	}
	return prefix
}
