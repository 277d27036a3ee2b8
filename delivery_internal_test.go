package webhook

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A delivery's published event is used only when it is the delivery's
// event: a store that copied another delivery's fields into it must not
// make a worker send the wrong event.
func TestPublishedEventMustMatchEventID(t *testing.T) {
	ev := &Event{ID: "evt_1"}
	require.Same(t, ev, (&Delivery{EventID: "evt_1", event: ev}).publishedEvent())
	require.Nil(t, (&Delivery{EventID: "evt_2", event: ev}).publishedEvent())
	require.Nil(t, (&Delivery{EventID: "evt_1"}).publishedEvent())
}
