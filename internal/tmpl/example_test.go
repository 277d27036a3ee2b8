package tmpl_test

import (
	"fmt"

	"github.com/hooksmith/webhook/internal/tmpl"
)

func Example() {
	t, err := tmpl.Parse(`{"fields": {"summary": "{{Body.title}} ({{Header.type}})", "labels": {{Body.labels}}, "owner": {{Body.owner}}}}`, tmpl.JSON)
	if err != nil {
		panic(err)
	}
	out, missing, err := t.Render(nil, tmpl.Values{
		Data:   []byte(`{"title": "Disk \"sda\" full", "labels": ["ops", "disk"]}`),
		Header: map[string]string{"type": "alert.raised"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	fmt.Println("missing:", missing)
	// Output:
	// {"fields": {"summary": "Disk \"sda\" full (alert.raised)", "labels": ["ops", "disk"], "owner": null}}
	// missing: [Body.owner]
}

func ExampleParseURL() {
	t, err := tmpl.ParseURL("https://jira.example.com/rest/api/2/issue/{{Body.key}}/comment?notify={{Body.who}}")
	if err != nil {
		panic(err)
	}
	out, _, err := t.Render(nil, tmpl.Values{Data: []byte(`{"key": "OPS/1 2", "who": "a&b c"}`)})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	// Output: https://jira.example.com/rest/api/2/issue/OPS%2F1%202/comment?notify=a%26b+c
}

func ExampleParse_error() {
	_, err := tmpl.Parse(`{"summary": {{Body.a}} {{Body.b}}}`, tmpl.JSON)
	fmt.Println(err)
	// Output: template line 1, column 24 (byte 23): tag {{Body.b}} stands outside any JSON string, where it renders a whole JSON value (null when missing), but a value cannot stand here (after object key:value pair); put the tag inside quotes to insert it into a string
}
