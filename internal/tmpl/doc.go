// Package tmpl renders request templates: the body of a webhook shaped for
// a third-party API (a Jira issue, a chat message, a form post) and the URL
// it goes to, from an event's data and header fields.
//
// Templates are parsed once, when a subscription is created or updated,
// and rendered for each delivery. Rendering reads the event's JSON in place
// without decoding it, and allocates only to grow the output buffer (not at
// all when it has room) and to list missing tags. A Template is safe for
// concurrent use.
//
// # Tags
//
// A tag is a name between "{{" and "}}"; spaces around the name are
// allowed ("{{ Body.id }}"). There are two roots:
//
//   - {{Body}} is the event's data; {{Body.a.b}} walks into objects by key
//     and {{Body.items.0.id}} into arrays by index (from 0). A segment of
//     digits is an index in an array (without leading zeros) and a key in an
//     object. A key that contains a dot cannot be reached; of duplicate keys
//     the first counts.
//   - {{Header.id}}, {{Header.type}}, {{Header.timestamp}} and
//     {{Header.tenant}} are the event's header fields;
//     {{Header.<metadata key>}} is a metadata value.
//
// There is no way to write a literal "{{" in a template: every "{{" opens a
// tag. Data may contain "{{" and "}}" freely; values are never read as
// templates.
//
// # Escaping
//
// A value is escaped for where it stands, so that data can never change
// the structure of the output:
//
//   - JSON, inside a string literal ("id: {{Body.id}}"): the value is
//     JSON-escaped. A string is inserted as its text, without its quotes; a
//     number, true or false as written; an object or array as its JSON
//     text, escaped; null as nothing. A quote in the data cannot end the
//     string.
//   - JSON, standing alone as a value ({"order": {{Body.order}}}): the
//     value's JSON is inserted as it is in the data, an object, array,
//     number, string with its quotes, true, false or null; a header value
//     as a JSON string.
//   - Text (text/plain): values are inserted as they are; a string as its
//     decoded text, anything else as its JSON, null as nothing.
//   - Form (application/x-www-form-urlencoded): as Text, then
//     query-escaped ("a b&c" becomes "a+b%26c").
//   - URL templates (ParseURL): in the path, each value is escaped as one
//     path segment ("a/b c" becomes "a%2Fb%20c", and "." or ".." become
//     "%2E" or "%2E%2E", so a value cannot climb the path); in the query,
//     query-escaped. Tags may not stand in the scheme or host.
//
// # Missing values
//
// A tag whose path or header does not exist in the event, or that walks
// into a scalar, is missing: it renders as nothing, except where a JSON
// value stands alone, where it renders as null so that the JSON stays
// valid. Render reports the missing tags so that the attempt log can show
// them. A present null or empty string is not missing.
//
// # Errors
//
// Parse rejects, with a *ParseError giving line and column, a tag without
// its "}}", an empty tag, a root other than Body and Header, a malformed
// path ("Body.a..b"), and for JSON any template that some values could
// render invalid: Parse renders every tag inside a string as empty and
// every other tag as null, and requires the result to be valid JSON. A
// lone tag renders exactly one JSON value, so a template that passes
// always renders valid JSON from valid data.
//
// Render fails only when the event data is not valid JSON where a tag
// reads it.
package tmpl
