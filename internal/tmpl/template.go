package tmpl

import (
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/valyala/fasttemplate"
)

// Values are what a template's tags read, for one event.
type Values struct {
	// Data is the event's data, valid JSON; Body tags read it. Nil or
	// empty makes every Body tag missing.
	Data []byte
	// Header holds the event's header fields and metadata by name: "id",
	// "type", "timestamp", "tenant" and each metadata key. {{Header.x}}
	// reads Header["x"]; an absent key is missing, an empty value is not.
	Header map[string]string
}

// Template is a parsed payload or URL template. Parse it once, render it
// for every delivery; a Template is safe for concurrent use by several
// goroutines and must not be copied.
type Template struct {
	ft   *fasttemplate.Template
	tags []tag // distinct tags, in order of first occurrence

	// nodes are the distinct prefixes of the Body paths, parents first.
	nodes []node

	// occ describes each tag occurrence, in the order fasttemplate meets
	// them: which of tags it is and where it stands.
	occ []occurrence

	literalLen int // bytes of text outside tags

	states sync.Pool // *renderState
}

// node is a Body path prefix, shared by the tags whose path starts with
// it: rendering finds "order" in the data once for both {{Body.order.id}}
// and {{Body.order.total}}.
type node struct {
	parent int // index in Template.nodes, -1 for the whole data
	seg    segment
}

// nodeState is where a node was found in one render's data.
type nodeState struct {
	start int // offset of the node's value in Values.Data
	res   lookupResult
}

// occurrence is one appearance of a tag in the source.
type occurrence struct {
	tag   int    // index into Template.tags
	place place  // decides the escaping
	raw   string // the text between the delimiters, as fasttemplate passes it
}

// Parse parses src, a body template of content type ct. It finds every
// problem a template can have before any event is rendered: an unterminated
// or empty tag, an unknown root (only Body and Header exist), a bad path,
// and for JSON a template that some values could render invalid. Such an
// error is a *ParseError giving the line and column; an unknown ct is a
// plain error.
//
// Parse is meant to run once per template version, never per delivery.
func Parse(src string, ct ContentType) (*Template, error) {
	switch ct {
	case JSON:
		return parse(src, jsonPlaces)
	case Text:
		return parse(src, fill(placeText))
	case Form:
		return parse(src, fill(placeForm))
	}
	return nil, fmt.Errorf("template content type %v is unknown: use JSON, Text or Form", ct)
}

// ParseURL parses src, a URL template. Tags in the path (and fragment) are
// path-escaped, tags in the query query-escaped. Tags may not stand in the
// scheme or host: a URL template cannot send a request to a host the data
// chooses. Errors are *ParseError values, as from Parse.
func ParseURL(src string) (*Template, error) {
	return parse(src, urlPlaces)
}

// placer decides where each tag of src stands, or rejects src.
type placer func(src string, raws []rawTag) ([]place, error)

// fill returns a placer that puts every tag in p.
func fill(p place) placer {
	return func(_ string, raws []rawTag) ([]place, error) {
		places := make([]place, len(raws))
		for i := range places {
			places[i] = p
		}
		return places, nil
	}
}

// parse splits src with fasttemplate, then parses and places its tags.
func parse(src string, placeTags placer) (*Template, error) {
	ft, raws, err := findTags(src)
	if err != nil {
		return nil, err
	}
	parsed := make([]tag, len(raws))
	for k, rt := range raws {
		tg, msg := parseTag(rt.inner)
		if msg != "" {
			return nil, newParseError(src, rt.start, "%s", msg)
		}
		parsed[k] = tg
	}
	places, err := placeTags(src, raws)
	if err != nil {
		return nil, err
	}
	t := &Template{occ: make([]occurrence, len(raws)), literalLen: len(src)}
	index := make(map[string]int, len(raws))
	for k, rt := range raws {
		tg := parsed[k]
		i, ok := index[tg.name]
		if !ok {
			i = len(t.tags)
			index[tg.name] = i
			tg.node = t.addPath(tg.path)
			t.tags = append(t.tags, tg)
		}
		t.occ[k] = occurrence{tag: i, place: places[k], raw: rt.inner}
		t.literalLen -= rt.end - rt.start
	}
	t.ft = ft
	t.states.New = func() any {
		st := &renderState{t: t}
		st.tagFunc = st.writeTag
		return st
	}
	return t, nil
}

// addPath adds the nodes of path that are not there yet and returns the
// index of path's own node, -1 for the empty path.
func (t *Template) addPath(path []segment) int {
	n := -1
	for _, seg := range path {
		found := false
		for i, nd := range t.nodes {
			if nd.parent == n && nd.seg.key == seg.key {
				n, found = i, true
				break
			}
		}
		if !found {
			t.nodes = append(t.nodes, node{parent: n, seg: seg})
			n = len(t.nodes) - 1
		}
	}
	return n
}

// Tags returns the distinct tag names of the template, without delimiters
// and surrounding spaces, in order of first appearance: for example
// ["Body.portfolioCode", "Header.timestamp"].
func (t *Template) Tags() []string {
	names := make([]string, len(t.tags))
	for i, tg := range t.tags {
		names[i] = tg.name
	}
	return names
}

// Render renders the template for v, appends the result to dst and returns
// it. missing lists the tags (as Tags names them) whose value was absent
// and rendered as nothing, or as null where a JSON value stands; it is nil
// when none was. An error means v.Data is not valid JSON where a tag
// reads it.
func (t *Template) Render(dst []byte, v Values) (out []byte, missing []string, err error) {
	st := t.states.Get().(*renderState)
	defer t.release(st)

	// Find every distinct tag's value first, to grow dst once.
	st.findNodes(v.Data)
	size := t.literalLen
	st.vals = slices.Grow(st.vals[:0], len(t.tags))[:len(t.tags)]
	for i := range t.tags {
		val, err := st.resolve(&t.tags[i], v)
		if err != nil {
			return dst, nil, err
		}
		if val.kind == valMissing {
			missing = append(missing, t.tags[i].name)
		}
		st.vals[i] = val
	}
	for _, o := range t.occ {
		// Room for the value and a few escapes.
		size += st.vals[o.tag].size() + 8
	}
	st.buf = slices.Grow(dst, size)
	st.next = 0
	if _, err := t.ft.ExecuteFunc(st, st.tagFunc); err != nil {
		return dst, nil, err
	}
	return st.buf, missing, nil
}

// release returns st to the pool without what it must not keep.
func (t *Template) release(st *renderState) {
	st.buf = nil
	clear(st.vals) // they point into the caller's data
	if cap(st.scratch) > 64<<10 {
		st.scratch = nil
	}
	t.states.Put(st)
}

// valueKind is what a tag resolved to.
type valueKind uint8

const (
	valMissing valueKind = iota // no such key, index or header
	valHeader                   // a header value: value.s
	valString                   // a JSON string: value.raw is its content, escapes undecoded
	valNull                     // JSON null
	valOther                    // a number, true, false, object or array: value.raw is its JSON text
)

// value is a tag's value for one render. raw points into Values.Data.
type value struct {
	kind valueKind
	raw  []byte
	s    string
}

// size estimates the bytes the value renders to.
func (v *value) size() int {
	if v.kind == valHeader {
		return len(v.s) + 2
	}
	return len(v.raw) + 4
}

// renderState is the per-render working memory, pooled in its Template so
// that rendering does not allocate.
type renderState struct {
	t       *Template   // the template whose pool holds this state
	buf     []byte      // the output; the io.Writer fasttemplate writes to
	nodes   []nodeState // where each of t.nodes is in the data
	vals    []value     // the value of each of t.tags
	next    int         // index in t.occ of the next tag fasttemplate asks for
	scratch []byte      // decoded strings, decoded keys
	tagFunc fasttemplate.TagFunc
}

// Write appends p to the output; fasttemplate writes the literal text
// through it.
func (st *renderState) Write(p []byte) (int, error) {
	st.buf = append(st.buf, p...)
	return len(p), nil
}

// findNodes finds every node of the template in data, parents first.
func (st *renderState) findNodes(data []byte) {
	nodes := st.t.nodes
	st.nodes = slices.Grow(st.nodes[:0], len(nodes))[:len(nodes)]
	root := st.root(data)
	for i, nd := range nodes {
		parent := root
		if nd.parent >= 0 {
			parent = st.nodes[nd.parent]
		}
		if parent.res != lookupFound {
			st.nodes[i] = parent
			continue
		}
		var ns nodeState
		ns.start, ns.res, st.scratch = step(data, parent.start, nd.seg, st.scratch)
		st.nodes[i] = ns
	}
}

// root returns where the whole data's value starts.
func (st *renderState) root(data []byte) nodeState {
	if len(data) == 0 {
		return nodeState{res: lookupMissing}
	}
	return nodeState{start: skipWS(data, 0), res: lookupFound}
}

// resolve finds tg's value in v; findNodes has run.
func (st *renderState) resolve(tg *tag, v Values) (value, error) {
	if tg.root == rootHeader {
		s, ok := v.Header[tg.key]
		if !ok {
			return value{}, nil
		}
		return value{kind: valHeader, s: s}, nil
	}
	ns := st.root(v.Data)
	if tg.node >= 0 {
		ns = st.nodes[tg.node]
	}
	end := -1
	if ns.res == lookupFound {
		if end = skipValue(v.Data, ns.start); end < 0 {
			ns.res = lookupMalformed
		}
	}
	switch ns.res {
	case lookupMissing:
		return value{}, nil
	case lookupMalformed:
		return value{}, fmt.Errorf("render {{%s}}: the event data is not valid JSON", tg.name)
	}
	raw := v.Data[ns.start:end]
	switch raw[0] {
	case '"':
		return value{kind: valString, raw: raw[1 : len(raw)-1]}, nil
	case 'n':
		if string(raw) == "null" {
			return value{kind: valNull}, nil
		}
	}
	return value{kind: valOther, raw: raw}, nil
}

// writeTag is the fasttemplate.TagFunc: it writes the value of the next
// tag occurrence with the escaping its place needs.
func (st *renderState) writeTag(_ io.Writer, name string) (int, error) {
	t := st.t
	if st.next >= len(t.occ) || t.occ[st.next].raw != name {
		return 0, fmt.Errorf("template: internal error: tag %q out of step with the parsed template", name)
	}
	o := &t.occ[st.next]
	st.next++
	v := &st.vals[o.tag]
	n := len(st.buf)
	var err error
	st.buf, err = st.appendValue(st.buf, o.place, v)
	if err != nil {
		return 0, fmt.Errorf("render {{%s}}: %w", t.tags[o.tag].name, err)
	}
	return len(st.buf) - n, nil
}

// appendValue appends v escaped for place p.
func (st *renderState) appendValue(dst []byte, p place, v *value) ([]byte, error) {
	switch p {
	case placeJSONString:
		switch v.kind {
		case valHeader:
			return appendJSONEscaped(dst, v.s), nil
		case valString:
			return appendJSONStringContent(dst, v.raw), nil
		case valOther:
			return appendJSONEscaped(dst, v.raw), nil
		}
		return dst, nil // missing or null: nothing
	case placeJSONValue:
		switch v.kind {
		case valHeader:
			dst = append(dst, '"')
			dst = appendJSONEscaped(dst, v.s)
			return append(dst, '"'), nil
		case valString:
			dst = append(dst, '"')
			dst = appendJSONStringContent(dst, v.raw)
			return append(dst, '"'), nil
		case valOther:
			if !validValue(v.raw) {
				return dst, fmt.Errorf("the event data is not valid JSON")
			}
			return append(dst, v.raw...), nil
		}
		return append(dst, "null"...), nil // missing or null
	}

	// Text, form and URL places take the plain text of the value.
	var plain []byte
	switch v.kind {
	case valHeader:
		return appendPlain(dst, p, v.s), nil
	case valString:
		st.scratch = appendUnquoted(st.scratch[:0], v.raw)
		plain = st.scratch
	case valOther:
		plain = v.raw
	default:
		return dst, nil // missing or null: nothing
	}
	return appendPlain(dst, p, plain), nil
}

// appendPlain appends s, plain text, escaped for a text, form or URL place.
func appendPlain[T text](dst []byte, p place, s T) []byte {
	switch p {
	case placeForm, placeURLQuery:
		return appendQueryEscaped(dst, s)
	case placeURLPath:
		return appendPathEscaped(dst, s)
	}
	return append(dst, s...)
}
