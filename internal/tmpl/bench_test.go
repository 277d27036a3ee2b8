package tmpl

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// benchTemplate is a ~1 KiB JSON template with 5 tags: three inside
// strings, two standing alone.
func benchTemplate() string {
	var b strings.Builder
	b.WriteString(`{"fields": {"summary": "Order {{Body.order.id}} from {{ Body.customer.name }} needs review",`)
	b.WriteString(` "reporter": {"id": "{{Header.tenant}}"}, "total": {{Body.order.total}}, "lines": {{Body.order.lines}},`)
	b.WriteString(` "labels": ["webhook", "orders"], "event": "{{Header.type}}", "padding": [`)
	for i := 0; b.Len() < 1000; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"k": "static value number %d", "n": %d}`, i, i)
	}
	b.WriteString(`]}}`)
	return b.String()
}

// benchData is a ~1 KiB event.
func benchData() []byte {
	var b strings.Builder
	b.WriteString(`{"customer": {"id": "cus_0123456789", "name": "Ada \"the\" Lovelace", "email": "ada@example.com",`)
	b.WriteString(` "address": {"line1": "12 Analytical Engine Street", "city": "London", "postcode": "N1 9GU"}},`)
	b.WriteString(` "notes": [`)
	for i := 0; b.Len() < 800; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"at": "2024-05-0%dT10:00:00Z", "text": "note number %d with some text"}`, i%9+1, i)
	}
	b.WriteString(`], "order": {"id": "ord_42", "total": 1234.5, "currency": "GBP",`)
	b.WriteString(` "lines": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}]}}`)
	return []byte(b.String())
}

func BenchmarkRender(b *testing.B) {
	src, data := benchTemplate(), benchData()
	tp, err := Parse(src, JSON)
	require.NoError(b, err)
	v := Values{Data: data, Header: map[string]string{
		"id": "evt_01", "type": "order.created", "timestamp": "2024-05-01T10:00:00Z", "tenant": "acme",
	}}
	out, missing, err := tp.Render(nil, v)
	require.NoError(b, err)
	require.Empty(b, missing)
	b.Logf("template %d bytes, data %d bytes, output %d bytes", len(src), len(data), len(out))
	b.ReportAllocs()
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, _, err := tp.Render(nil, v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderReuse renders into a buffer kept from the last render, as
// a caller that pools its bodies would: no allocation at all.
func BenchmarkRenderReuse(b *testing.B) {
	tp, err := Parse(benchTemplate(), JSON)
	require.NoError(b, err)
	v := Values{Data: benchData(), Header: map[string]string{"type": "order.created", "tenant": "acme"}}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		if buf, _, err = tp.Render(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse is the once-per-template-version cost.
func BenchmarkParse(b *testing.B) {
	src := benchTemplate()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src, JSON); err != nil {
			b.Fatal(err)
		}
	}
}

// The allocation budget of BenchmarkRender, checked on every test run:
// one allocation for the output, none when the caller's buffer has room.
// Under the race detector the pool drops states, each costing a few
// allocations to replace; the budget of 4 still holds.
func TestRenderAllocations(t *testing.T) {
	freshMax, reusedMax := 1.5, 0.5
	if raceEnabled {
		freshMax, reusedMax = 4, 4
	}
	tp, err := Parse(benchTemplate(), JSON)
	require.NoError(t, err)
	v := Values{Data: benchData(), Header: map[string]string{"type": "order.created", "tenant": "acme"}}
	fresh := testing.AllocsPerRun(200, func() {
		if _, _, err := tp.Render(nil, v); err != nil {
			t.Fatal(err)
		}
	})
	require.LessOrEqual(t, fresh, freshMax)
	buf := make([]byte, 0, 4096)
	reused := testing.AllocsPerRun(200, func() {
		if _, _, err := tp.Render(buf[:0], v); err != nil {
			t.Fatal(err)
		}
	})
	require.LessOrEqual(t, reused, reusedMax)
}

// BenchmarkValid checks 1 KiB of typical event data: short keys and values,
// and one long string.
func BenchmarkValid(b *testing.B) {
	data := []byte(`{"id":"inv_123","amount":4200,"currency":"eur","customer":{"name":"Ada Lovelace","email":"ada@example.com"},"note":"` +
		strings.Repeat("lorem ipsum dolor sit amet ", 32) + `"}`)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if !Valid(data) {
			b.Fatal("invalid")
		}
	}
}
