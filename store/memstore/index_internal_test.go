package memstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hooksmith/webhook"
)

// insertByID keeps a subscription's deliveries sorted whatever the order
// they come in: in order, nearly in order (as concurrent Publishes store
// them), or any order.
func TestInsertByIDKeepsOrder(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for name, shuffle := range map[string]func(ids []string){
		"in order": func([]string) {},
		"neighbours swapped": func(ids []string) {
			for i := 1; i < len(ids); i += 3 {
				ids[i-1], ids[i] = ids[i], ids[i-1]
			}
		},
		"any order": func(ids []string) { r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] }) },
	} {
		t.Run(name, func(t *testing.T) {
			var want []string
			for i := range 200 {
				want = append(want, fmt.Sprintf("dlv_%03d", i))
			}
			ids := slices.Clone(want)
			shuffle(ids)
			var entries []*entry
			for _, id := range ids {
				entries = insertByID(entries, &entry{d: &webhook.Delivery{ID: id}})
			}
			got := make([]string, len(entries))
			for i, e := range entries {
				got[i] = e.d.ID
			}
			require.Equal(t, want, got)
		})
	}
}
