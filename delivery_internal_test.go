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

// A clone does not carry the published event: what DeliveryGet and
// DeliveryList return holds no store memory, and a store that returns
// clones from its claims makes the worker read the event with EventGet.
func TestDeliveryCloneDropsPublishedEvent(t *testing.T) {
	d := &Delivery{EventID: "evt_1", event: &Event{ID: "evt_1"}}
	require.NotNil(t, d.publishedEvent())
	require.Nil(t, d.Clone().publishedEvent())
	require.NotNil(t, d.publishedEvent(), "Clone left d as it was")
}
