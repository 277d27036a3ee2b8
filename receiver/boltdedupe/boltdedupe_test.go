package boltdedupe_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"

	"github.com/hooksmith/webhook"
	"github.com/hooksmith/webhook/receiver/boltdedupe"
	"github.com/hooksmith/webhook/receiver/dedupetest"
)

func openDB(t *testing.T, path string) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	require.NoError(t, err)
	return db
}

func TestConformance(t *testing.T) {
	t.Parallel()
	dedupetest.Run(t, func(t *testing.T) webhook.DedupeStore {
		db := openDB(t, filepath.Join(t.TempDir(), "dedupe.db"))
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		s, err := boltdedupe.New(db, nil)
		require.NoError(t, err)
		return s
	})
}

func TestSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dedupe.db")
	t0 := time.Unix(1_700_000_000, 0)

	db := openDB(t, path)
	s, err := boltdedupe.New(db, &boltdedupe.Options{Bucket: "hooks"})
	require.NoError(t, err)
	for _, id := range []string{"done", "interrupted"} {
		st, err := s.Claim(ctx, id, t0)
		require.NoError(t, err)
		require.Equal(t, webhook.DedupeClaimed, st)
	}
	require.NoError(t, s.Finish(ctx, "done", t0, t0.Add(time.Hour)))
	require.NoError(t, db.Close())

	db = openDB(t, path)
	defer db.Close()
	s, err = boltdedupe.New(db, &boltdedupe.Options{Bucket: "hooks"})
	require.NoError(t, err)
	require.Equal(t, 1, s.Len())
	tests := []struct {
		id   string
		at   time.Time
		want webhook.DedupeStatus
	}{
		{"done", t0.Add(time.Minute), webhook.DedupeHandled},
		{"interrupted", t0.Add(time.Minute), webhook.DedupeClaimed},
		{"done", t0.Add(time.Hour), webhook.DedupeClaimed},
	}
	for _, tt := range tests {
		st, err := s.Claim(ctx, tt.id, tt.at)
		require.NoError(t, err)
		require.Equal(t, tt.want, st, tt.id)
	}
}

func TestBoundedAndExpiring(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		max     int
		until   func(i int) time.Time
		wantLen int
		gone    []int // indexes no longer remembered
	}{
		{"oldest removed beyond the limit", 3, func(i int) time.Time { return t0.Add(time.Hour + time.Duration(i)*time.Second) }, 3, []int{0, 5, 6}},
		{"expired removed", 100, func(i int) time.Time { return t0.Add(time.Duration(i-4) * time.Second) }, 5, []int{0, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, filepath.Join(t.TempDir(), "dedupe.db"))
			defer db.Close()
			s, err := boltdedupe.New(db, &boltdedupe.Options{MaxEntries: tt.max})
			require.NoError(t, err)
			for i := range 10 {
				id := fmt.Sprint("msg_", i)
				_, err := s.Claim(ctx, id, t0)
				require.NoError(t, err)
				require.NoError(t, s.Finish(ctx, id, t0, tt.until(i)))
			}
			require.Equal(t, tt.wantLen, s.Len())
			for _, i := range tt.gone {
				st, err := s.Claim(ctx, fmt.Sprint("msg_", i), t0.Add(-time.Hour))
				require.NoError(t, err)
				require.Equal(t, webhook.DedupeClaimed, st, i)
			}
			st, err := s.Claim(ctx, "msg_9", t0)
			require.NoError(t, err)
			require.Equal(t, webhook.DedupeHandled, st)
		})
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := boltdedupe.New(nil, nil)
	require.Error(t, err)
	db := openDB(t, filepath.Join(t.TempDir(), "dedupe.db"))
	defer db.Close()
	_, err = boltdedupe.New(db, &boltdedupe.Options{MaxEntries: -1})
	require.ErrorIs(t, err, webhook.ErrInvalid)
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "dedupe.db"))
	defer db.Close()
	s, err := boltdedupe.New(db, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Claim(ctx, "x", time.Now())
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, s.Finish(ctx, "x", time.Now(), time.Now()), context.Canceled)
}
