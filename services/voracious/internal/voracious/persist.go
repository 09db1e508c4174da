package voracious

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"chaossuite.dev/voracious/internal/servo"
)

// stateFileVersion is the layout of the state file; a file of another version is refused.
const stateFileVersion = 1

type stateFile struct {
	Version int            `json:"version"`
	SavedAt time.Time      `json:"saved_at"`
	Apps    []servo.Record `json:"apps"`
}

// LoadState restores the store from path. A missing file is a fresh start; a file that cannot
// be read back is an error, and the file is left as it is.
func LoadState(path string, store *servo.Store) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("state file %s: %w", path, err)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return 0, corrupt(path, err)
	}
	if f.Version != stateFileVersion {
		return 0, corrupt(path, fmt.Errorf("version %d, want %d", f.Version, stateFileVersion))
	}
	if err := store.Restore(f.Apps); err != nil {
		return 0, corrupt(path, err)
	}
	return len(f.Apps), nil
}

func corrupt(path string, err error) error {
	return fmt.Errorf("state file %s is corrupt (%v); it was left untouched: fix it, move it away or point VORACIOUS_STATE_FILE elsewhere", path, err)
}

// SaveState writes the store to path atomically: a temporary file in the same directory,
// synced, then renamed over path, so that a reader or a crash sees the old or the new file.
func SaveState(path string, store *servo.Store, now time.Time) error {
	b, err := json.Marshal(stateFile{Version: stateFileVersion, SavedAt: now.UTC(), Apps: store.Snapshot()})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // gone already after a successful rename
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Persister keeps the state file at most Interval behind the store.
type Persister struct {
	Path     string
	Store    *servo.Store
	Interval time.Duration
	Logger   *slog.Logger
	Now      func() time.Time

	saved uint64
}

// Run saves whenever the store changed since the last save, every Interval, until ctx ends,
// then saves a last time. It returns the last save's error.
func (p *Persister) Run(ctx context.Context) error {
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			err := p.Flush()
			if err == nil {
				p.Logger.Info("state saved", "path", p.Path, "apps", p.Store.Known())
			}
			return err
		case <-t.C:
			if err := p.Flush(); err != nil {
				p.Logger.Error("saving state", "path", p.Path, "error", err.Error())
			}
		}
	}
}

// Flush saves now if anything changed since the last save.
func (p *Persister) Flush() error {
	changes := p.Store.Changes()
	if changes == p.saved {
		return nil
	}
	if err := SaveState(p.Path, p.Store, p.Now()); err != nil {
		return err
	}
	p.saved = changes
	return nil
}
