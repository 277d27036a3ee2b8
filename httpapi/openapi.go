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

// openAPITop is the document's top level, decoded only as far as serving
// needs: its members keep their order, the path items their own.
type openAPITop struct {
	OpenAPI    json.RawMessage            `json:"openapi"`
	Info       json.RawMessage            `json:"info"`
	Servers    []openAPIServer            `json:"servers"`
	Paths      map[string]json.RawMessage `json:"paths"`
	Components json.RawMessage            `json:"components"`
}

type openAPIServer struct {
	URL string `json:"url"`
}

// openAPI serves GET /openapi.json, with its server URL set to the prefix
// the handler is mounted under, so that tools call the right paths.
func (a *api) openAPI(c *call) (int, any, error) {
	var doc openAPITop
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		return 0, nil, err
	}
	doc.Servers = []openAPIServer{{URL: mountPrefix(c.r)}}
	if !a.cfg.AllowPublish {
		var events map[string]json.RawMessage
		if err := json.Unmarshal(doc.Paths["/events"], &events); err != nil {
			return 0, nil, err
		}
		delete(events, "post")
		b, err := json.Marshal(events)
		if err != nil {
			return 0, nil, err
		}
		doc.Paths["/events"] = b
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
