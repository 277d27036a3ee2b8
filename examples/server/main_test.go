package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDemo runs the scripted tour, so that the test command checks the
// example end to end: subscribe through the API, place an order, receive
// the signed webhook, read the delivery log through the API.
func TestDemo(t *testing.T) {
	t.Parallel()
	require.NoError(t, run(options{demo: true, db: filepath.Join(t.TempDir(), "server.db")}))
}
