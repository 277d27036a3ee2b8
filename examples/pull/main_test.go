package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDemo runs the example end to end, twice on the same database: the
// second run resumes after the cursor the first one committed.
func TestDemo(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "pull.db")
	require.NoError(t, run(db, 5))
	require.NoError(t, run(db, 3))
}
