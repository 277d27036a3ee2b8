package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/hooksmith/webhook"
)

// Defaults and bounds.
const (
	// ChallengeDefault is the default of Config.Challenge.
	ChallengeDefault = "Bearer"
	// MaxBodyBytesDefault is the default of Config.MaxBodyBytes (1 MiB).
	MaxBodyBytesDefault = 1 << 20
	// LimitDefault is the page size of a list when the request gives no
	// limit parameter.
	LimitDefault = 100
	// LimitMax is the largest limit parameter a list accepts.
	LimitMax = 1000
)

// Role is what a Principal may do within its tenant.
type Role string

// The roles a Principal can have.
const (
	// RoleAdmin may manage every subscription of its tenant, create
	// subscriptions, read the event log and, when Config.AllowPublish is
	// set, publish events.
	RoleAdmin Role = "admin"
	// RoleUser may manage only the subscriptions listed in
	// Principal.Subscriptions, and their deliveries.
	RoleUser Role = "user"
)

// Principal is who is calling, as Config.Authorize established it.
type Principal struct {
	// Tenant is the tenant the caller acts in. Every subscription, delivery
	// and event of another tenant is invisible to it (404). Empty is a
	// tenant like any other, as in package webhook.
	Tenant string
	// Role is RoleAdmin or RoleUser; anything else is answered 500, as a
	// bug of Authorize.
	Role Role
	// Subscriptions lists the subscription IDs a RoleUser may manage.
	// Ignored for RoleAdmin.
	Subscriptions []string
}

// may reports whether p may manage the subscription with the given ID,
// which is known to belong to p's tenant.
func (p *Principal) may(subscriptionID string) bool {
	return p.Role == RoleAdmin || slices.Contains(p.Subscriptions, subscriptionID)
}

// ErrForbidden may be wrapped by an error of Config.Authorize to answer 403
// Forbidden (the caller is known but may not use this API) instead of 401.
var ErrForbidden = errors.New("httpapi: forbidden")

// Config configures the handler New returns.
type Config struct {
	// AllowPublish serves POST /events, with which admins publish events
	// of their tenant. Off by default: most hosts publish from their own
	// code, when their own domain actions happen.
	AllowPublish bool

	// Authorize authenticates a request and says who is calling. It is
	// required, and called concurrently. An error is answered 401
	// Unauthorized with its message (so it should say what to send, not
	// why a lookup failed), or 403 Forbidden when it wraps ErrForbidden.
	// It is not called for GET /openapi.json, which is public.
	Authorize func(r *http.Request) (Principal, error)

	// Challenge is the WWW-Authenticate header of 401 answers, naming the
	// authentication scheme Authorize expects. Defaults to
	// ChallengeDefault ("Bearer").
	Challenge string

	// Logger receives the errors answered 500, with their cause. Secrets
	// are never logged. Defaults to a logger that discards everything.
	Logger *slog.Logger

	// MaxBodyBytes caps a request body; a longer one is answered 413.
	// Defaults to MaxBodyBytesDefault (1 MiB).
	MaxBodyBytes int64
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Challenge == "" {
		c.Challenge = ChallengeDefault
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = MaxBodyBytesDefault
	}
	return c
}

// api is the handler New returns.
type api struct {
	d      *webhook.Dispatcher
	cfg    Config
	mux    *http.ServeMux
	routes []route
}

// route is one served method and path.
type route struct {
	method  string // "GET", "POST", ...
	path    string // a ServeMux path pattern, such as "/subscriptions/{id}"
	admin   bool   // RoleAdmin only
	public  bool   // served without Authorize
	handler func(c *call) (int, any, error)
}

// call is one authorized request.
type call struct {
	w http.ResponseWriter
	r *http.Request
	p Principal
}

func (c *call) ctx() context.Context { return c.r.Context() }

// New returns the management API of d as an http.Handler. The routes are
// rooted at "/" (for example "/subscriptions"); to serve them under a
// prefix, strip it:
//
//	mux.Handle("/webhooks/", http.StripPrefix("/webhooks", httpapi.New(d, cfg)))
//
// New panics when d is nil or cfg.Authorize is not set: both are
// required, and a handler without them could only fail every request.
func New(d *webhook.Dispatcher, cfg *Config) http.Handler {
	if d == nil {
		panic("httpapi.New: the Dispatcher is nil; pass the *webhook.Dispatcher whose subscriptions the API manages")
	}
	if cfg == nil || cfg.Authorize == nil {
		panic("httpapi.New: Config.Authorize is required: it authenticates each request and returns the caller's Principal (tenant and role)")
	}
	a := &api{d: d, cfg: cfg.withDefaults(), mux: http.NewServeMux()}
	a.routes = a.routeTable()
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range a.routes {
		a.mux.HandleFunc(rt.method+" "+rt.path, a.serve(rt))
		if allowed[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
		if rt.method == http.MethodGet {
			allowed[rt.path] = append(allowed[rt.path], http.MethodHead)
		}
	}
	// A path served with other methods answers 405 with Allow, in the
	// JSON error shape; any other path 404.
	for _, p := range paths {
		allow := strings.Join(allowed[p], ", ")
		a.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			a.writeError(w, r, &apiError{
				status:  http.StatusMethodNotAllowed,
				code:    codeMethodNotAllowed,
				message: fmt.Sprintf("%s is not served on this path; use one of: %s", r.Method, allow),
			})
		})
	}
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, &apiError{
			status:  http.StatusNotFound,
			code:    codeNotFound,
			message: fmt.Sprintf("no route for %s; GET /openapi.json lists the routes", truncate(r.URL.Path, 128)),
		})
	})
	return a
}

// ServeHTTP implements http.Handler.
func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mux.ServeHTTP(w, r)
}

// routeTable lists every served route; the OpenAPI document must list the
// same ones (a test checks it).
func (a *api) routeTable() []route {
	rs := []route{
		{method: "GET", path: "/openapi.json", public: true, handler: a.openAPI},

		{method: "POST", path: "/subscriptions", admin: true, handler: a.subscriptionCreate},
		{method: "GET", path: "/subscriptions", handler: a.subscriptionList},
		{method: "GET", path: "/subscriptions/{id}", handler: a.subscriptionGet},
		{method: "PUT", path: "/subscriptions/{id}", handler: a.subscriptionPut},
		{method: "PATCH", path: "/subscriptions/{id}", handler: a.subscriptionPatch},
		{method: "DELETE", path: "/subscriptions/{id}", handler: a.subscriptionDelete},
		{method: "POST", path: "/subscriptions/{id}/rotate-secret", handler: a.subscriptionRotateSecret},
		{method: "POST", path: "/subscriptions/{id}/enable", handler: a.subscriptionEnable},
		{method: "POST", path: "/subscriptions/{id}/disable", handler: a.subscriptionDisable},

		{method: "GET", path: "/subscriptions/{id}/deliveries", handler: a.subscriptionDeliveries},
		{method: "GET", path: "/deliveries/{id}", handler: a.deliveryGet},
		{method: "POST", path: "/deliveries/{id}/retry", handler: a.deliveryRetry},

		{method: "GET", path: "/subscriptions/{id}/events", handler: a.subscriptionPoll},
		{method: "PUT", path: "/subscriptions/{id}/cursor", handler: a.subscriptionCursor},

		{method: "GET", path: "/events", admin: true, handler: a.eventList},
		{method: "GET", path: "/events/{id}", admin: true, handler: a.eventGet},
	}
	if a.cfg.AllowPublish {
		rs = append(rs, route{method: "POST", path: "/events", admin: true, handler: a.eventPublish})
	}
	return rs
}

// serve wraps a route's handler: authorization, then the JSON answer.
func (a *api) serve(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r}
		if !rt.public {
			p, err := a.authorize(r)
			if err != nil {
				a.writeError(w, r, err)
				return
			}
			if rt.admin && p.Role != RoleAdmin {
				a.writeError(w, r, &apiError{
					status:  http.StatusForbidden,
					code:    codeForbidden,
					message: fmt.Sprintf("%s %s needs the admin role", rt.method, rt.path),
				})
				return
			}
			c.p = p
		}
		status, body, err := rt.handler(c)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		a.writeJSON(w, status, body)
	}
}

// authorize runs Config.Authorize and checks what it returned.
func (a *api) authorize(r *http.Request) (Principal, error) {
	p, err := a.cfg.Authorize(r)
	switch {
	case errors.Is(err, ErrForbidden):
		return Principal{}, &apiError{status: http.StatusForbidden, code: codeForbidden, message: err.Error()}
	case err != nil:
		return Principal{}, &apiError{status: http.StatusUnauthorized, code: codeUnauthenticated, message: "authentication failed: " + err.Error()}
	case p.Role != RoleAdmin && p.Role != RoleUser:
		return Principal{}, fmt.Errorf("httpapi: Config.Authorize returned a Principal with role %q; it must be %q or %q", p.Role, RoleAdmin, RoleUser)
	}
	return p, nil
}
