package tmpl

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/valyala/fasttemplate"
)

// The delimiters of a tag.
const (
	startTag = "{{"
	endTag   = "}}"
)

// root is what a tag reads: the event data or a header field.
type root uint8

const (
	rootBody   root = iota // Body: a path into the event data
	rootHeader             // Header: a header field or metadata key
)

// tag is a parsed tag name. Each distinct name is parsed once, at Parse.
type tag struct {
	// name is the tag as written, without delimiters and surrounding
	// spaces: "Body.items.0.id". It is what Tags and missing report.
	name string
	root root
	// key is the Header field for rootHeader.
	key string
	// path is the Body path for rootBody; empty means the whole data.
	path []segment
	// node is the index in Template.nodes of path, -1 for the whole data.
	node int
}

// rawTag is one occurrence of a tag in the source, found by findTags.
type rawTag struct {
	start int // offset of "{{"
	end   int // offset just past "}}"
	inner string
}

// findTags splits src with fasttemplate, which renders it later, and
// returns the compiled template with every tag occurrence and its
// position: fasttemplate is the one tag scanner, so Parse and Render can
// never disagree on where a tag is. It rejects a "{{" without its "}}" and
// a "{{" inside a tag, both with the position of the opening "{{".
func findTags(src string) (*fasttemplate.Template, []rawTag, error) {
	ft, err := fasttemplate.NewTemplate(src, startTag, endTag)
	if err != nil {
		// fasttemplate stops at the first "{{" that has no "}}" after it.
		// Every "}}" lies before it, and every "{{" after the last "}}"
		// would be such a one, so it is the first "{{" after the last "}}".
		from := 0
		if last := strings.LastIndex(src, endTag); last >= 0 {
			from = last + len(endTag)
		}
		start := from + strings.Index(src[from:], startTag)
		return nil, nil, newParseError(src, start, "unterminated tag: %q has no closing %q", startTag, endTag)
	}
	// Walk the split template once: the text fasttemplate writes and the
	// tags it hands over, in order, give each tag's offset.
	var raws []rawTag
	var w offsetWriter
	_, err = ft.ExecuteFunc(&w, func(_ io.Writer, inner string) (int, error) {
		start := int(w)
		if strings.Contains(inner, startTag) {
			return 0, newParseError(src, start, "unterminated tag: %q is followed by another %q before %q; tags cannot nest",
				startTag, startTag, endTag)
		}
		end := start + len(startTag) + len(inner) + len(endTag)
		raws = append(raws, rawTag{start: start, end: end, inner: inner})
		w = offsetWriter(end)
		return 0, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return ft, raws, nil
}

// offsetWriter counts the bytes written to it: the offset in the source
// of fasttemplate's walk.
type offsetWriter int

func (w *offsetWriter) Write(p []byte) (int, error) {
	*w += offsetWriter(len(p))
	return len(p), nil
}

// parseTag parses the inside of a tag. The error message is completed with
// a position by the caller.
func parseTag(inner string) (tag, string) {
	name := strings.TrimSpace(inner)
	if name == "" {
		return tag{}, "empty tag: write a name such as {{Body.id}} or {{Header.type}}"
	}
	rootName, rest, hasDot := strings.Cut(name, ".")
	switch rootName {
	case "Body":
		t := tag{name: name, root: rootBody}
		if !hasDot {
			return t, "" // the whole data
		}
		for seg := range strings.SplitSeq(rest, ".") {
			switch {
			case seg == "":
				return tag{}, fmt.Sprintf("bad path in tag {{%s}}: empty segment; separate keys and indexes with single dots, as in {{Body.items.0.id}}", name)
			case strings.TrimSpace(seg) != seg:
				return tag{}, fmt.Sprintf("bad path in tag {{%s}}: segment %q has surrounding spaces; spaces are allowed only around the whole name", name, seg)
			}
			t.path = append(t.path, segment{key: seg, index: parseIndex(seg)})
		}
		return t, ""
	case "Header":
		if !hasDot || rest == "" {
			return tag{}, fmt.Sprintf("bad path in tag {{%s}}: Header needs a name: {{Header.id}}, {{Header.type}}, {{Header.timestamp}}, {{Header.tenant}} or {{Header.<metadata key>}}", name)
		}
		if strings.TrimSpace(rest) != rest {
			return tag{}, fmt.Sprintf("bad path in tag {{%s}}: header name %q has surrounding spaces", name, rest)
		}
		return tag{name: name, root: rootHeader, key: rest}, ""
	}
	msg := fmt.Sprintf("unknown root %q in tag {{%s}}: a tag starts with Body (the event data, as in {{Body.items.0.id}}) or Header (as in {{Header.id}})", rootName, name)
	switch {
	case strings.EqualFold(rootName, "Body"):
		msg += "; did you mean Body?"
	case strings.EqualFold(rootName, "Header"):
		msg += "; did you mean Header?"
	case strings.HasPrefix(rootName, "{"):
		msg += `; a "{" written just before a tag is read as part of it: put a space between them`
	}
	return tag{}, msg
}

// parseIndex returns seg as an array index, or -1 when it is not a decimal
// number written without leading zeros.
func parseIndex(seg string) int {
	if len(seg) > 1 && seg[0] == '0' {
		return -1
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] < '0' || seg[i] > '9' {
			return -1
		}
	}
	n, err := strconv.Atoi(seg)
	if err != nil {
		return -1 // too large to be an index of anything
	}
	return n
}
