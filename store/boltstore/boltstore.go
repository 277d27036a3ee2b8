package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/hooksmith/webhook"
)

// Defaults for Options fields left zero.
const (
	FileModeDefault      os.FileMode = 0o600
	OpenTimeoutDefault               = 5 * time.Second
	PurgeIntervalDefault             = time.Hour
	RetentionDefault                 = 30 * 24 * time.Hour
)

// Options configure a Store. A nil *Options, like the zero value, means the
// defaults given on each field.
type Options struct {
	// FileMode is the permission of a file Open creates. Defaults to
	// FileModeDefault (0600: the file holds signing secrets).
	FileMode os.FileMode

	// Logger receives errors of the background purge. Defaults to a
	// logger that discards everything.
	Logger *slog.Logger

	// NoSync skips the fsync after each write transaction. Writes are then
	// much faster, but a crash of the machine (not just of the process) can
	// lose events that Publish reported stored, or corrupt the file. Off by
	// default; turn it on only for tests or data you can afford to lose.
	// Open applies it; with New it sets db.NoSync.
	NoSync bool

	// Now is the clock of the background purge. Defaults to time.Now.
	Now func() time.Time

	// OpenTimeout bounds how long Open waits for the file lock held by
	// another process. Defaults to OpenTimeoutDefault (5 s).
	OpenTimeout time.Duration

	// PurgeInterval is how often the background purge runs; negative turns
	// it off (call Purge yourself). Defaults to PurgeIntervalDefault (1
	// hour). The first purge runs one interval after New or Open.
	PurgeInterval time.Duration

	// Retention is how long events, their deliveries and attempts are kept;
	// negative keeps them forever. An event is purged once its Timestamp is
	// older than Retention and none of its deliveries is pending. Defaults
	// to RetentionDefault (30 days).
	Retention time.Duration
}

func (o Options) withDefaults() Options {
	if o.FileMode == 0 {
		o.FileMode = FileModeDefault
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OpenTimeout == 0 {
		o.OpenTimeout = OpenTimeoutDefault
	}
	if o.PurgeInterval == 0 {
		o.PurgeInterval = PurgeIntervalDefault
	}
	if o.Retention == 0 {
		o.Retention = RetentionDefault
	}
	return o
}

// Store is a webhook.Store in a bbolt file. Create one with Open or New and
// release it with Close; its methods are safe for concurrent use.
type Store struct {
	db     *bbolt.DB
	ownsDB bool
	opts   Options
	writes *committer
	cache  subCache // the subscriptions, decoded

	stopPurge context.CancelFunc
	purgeDone chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var (
	_ webhook.Store                 = (*Store)(nil)
	_ webhook.DeliveryUpdateClaimer = (*Store)(nil)
)

// Open opens or creates the store file at path. Close closes the file.
func Open(path string, opts *Options) (*Store, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o = o.withDefaults()
	db, err := bbolt.Open(path, o.FileMode, &bbolt.Options{Timeout: o.OpenTimeout, NoSync: o.NoSync})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("boltstore: open %s: the file is locked: another Store or process has it open, and only one may at a time: %w", path, err)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
		return nil, fmt.Errorf("boltstore: open %s: %w: it is not a valid bbolt database, or it is torn or corrupt (%v); restore it from a backup or choose another path", path, ErrForeignFile, err)
	case err != nil:
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	s, err := newStore(db, o, true)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	return s, nil
}

// New returns a Store on an open database. The caller owns db: Close stops
// the Store's goroutines but leaves db open. The database must be used by
// nothing else and may hold no other buckets; an empty one is initialised.
// In particular nothing but the Store may write to it while the Store is
// open: the Store keeps the subscriptions in memory and would not see such
// writes. Read transactions (backups with Tx.WriteTo) are fine.
func New(db *bbolt.DB, opts *Options) (*Store, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o = o.withDefaults()
	if o.NoSync {
		db.NoSync = true
	}
	return newStore(db, o, false)
}

func newStore(db *bbolt.DB, o Options, owns bool) (*Store, error) {
	if err := initSchema(db); err != nil {
		return nil, err
	}
	s := &Store{db: db, ownsDB: owns, opts: o, writes: newCommitter(db)}
	if o.PurgeInterval > 0 && o.Retention > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopPurge = cancel
		s.purgeDone = make(chan struct{})
		go s.purgeLoop(ctx)
	}
	return s, nil
}

// initSchema creates the buckets of an empty file, or checks that a file
// holds our format at a version we can read.
func initSchema(db *bbolt.DB) error {
	if db.IsReadOnly() {
		return db.View(checkSchema)
	}
	return db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta) != nil {
			if err := upgradeV1(tx); err != nil {
				return err
			}
			if err := upgradeV2(tx); err != nil {
				return err
			}
			return checkSchema(tx)
		}
		var other []string
		_ = tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			other = append(other, string(name))
			return nil
		})
		if len(other) > 0 {
			return fmt.Errorf("%w: it holds buckets %q and no format marker; use a new file for the webhook store", ErrForeignFile, other)
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("boltstore: create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(metaFormat, formatName); err != nil {
			return err
		}
		return meta.Put(metaVersion, binary.BigEndian.AppendUint32(nil, schemaVersion))
	})
}

// upgradeV1 brings a schema version 1 file (before pull feeds) to version
// 2 by adding the feed buckets, and leaves any other file alone.
func upgradeV1(tx *bbolt.Tx) error {
	raw := tx.Bucket(bucketMeta).Get(metaVersion)
	if len(raw) != 4 || binary.BigEndian.Uint32(raw) != 1 || string(tx.Bucket(bucketMeta).Get(metaFormat)) != string(formatName) {
		return nil
	}
	for _, name := range addedInV2 {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("boltstore: upgrade to schema version 2: create bucket %s: %w", name, err)
		}
	}
	return tx.Bucket(bucketMeta).Put(metaVersion, binary.BigEndian.AppendUint32(nil, 2))
}

// upgradeV2 brings a schema version 2 file to version 3, and leaves any
// other file alone. Version 3 stores an event's delivery list with the
// event rather than in bucketDlvByEvent, and reads that bucket for events
// without a list, so the events already stored stay as they are: the
// upgrade only marks the file, so that a release reading up to version 2,
// which would not see the new lists, refuses it.
func upgradeV2(tx *bbolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	raw := meta.Get(metaVersion)
	if len(raw) != 4 || binary.BigEndian.Uint32(raw) != 2 || string(meta.Get(metaFormat)) != string(formatName) {
		return nil
	}
	return meta.Put(metaVersion, binary.BigEndian.AppendUint32(nil, 3))
}

func checkSchema(tx *bbolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("%w: it has no format marker; use a new file for the webhook store", ErrForeignFile)
	}
	if got := meta.Get(metaFormat); string(got) != string(formatName) {
		return fmt.Errorf("%w: its format marker is %q, not %q", ErrForeignFile, truncate(got), formatName)
	}
	raw := meta.Get(metaVersion)
	if len(raw) != 4 {
		return fmt.Errorf("%w: its schema version is unreadable (%d bytes)", ErrForeignFile, len(raw))
	}
	switch v := binary.BigEndian.Uint32(raw); {
	case v > schemaVersion:
		return fmt.Errorf("%w: schema version %d, this release reads up to %d; upgrade the program (the file was not changed)", ErrNewerSchema, v, schemaVersion)
	case v < minReadVersion:
		return fmt.Errorf("%w: schema version %d is older than any this release reads (%d)", ErrForeignFile, v, minReadVersion)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("%w: bucket %s is missing; the file is damaged", ErrForeignFile, name)
		}
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// Close stops the background purge and the group committer, after the
// writes already queued are committed. A Store made by Open closes its file;
// one made by New leaves the database open. Calls after Close fail with
// ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stopPurge != nil {
			s.stopPurge()
			<-s.purgeDone
		}
		s.writes.close()
		if s.ownsDB {
			s.closeErr = s.db.Close()
		}
	})
	return s.closeErr
}

// DB returns the underlying database, for backups (bbolt's Tx.WriteTo) and
// statistics. Writing to it may corrupt the store, and the Store would not
// see the change in its in-memory subscriptions.
func (s *Store) DB() *bbolt.DB { return s.db }

// update runs fn in a write transaction, or fails with ErrClosed.
func (s *Store) update(fn func(tx *bbolt.Tx) error) error {
	if s.writes.isClosed() {
		return ErrClosed
	}
	return s.db.Update(fn)
}

// view runs fn in a read transaction, or fails with ErrClosed.
func (s *Store) view(fn func(tx *bbolt.Tx) error) error {
	if s.writes.isClosed() {
		return ErrClosed
	}
	return s.db.View(fn)
}
