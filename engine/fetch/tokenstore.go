package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TokenStore keeps the refresh tokens an OAuth2 token endpoint rotates
// (each refresh returns a new refresh token and retires the old one), so
// that the next run starts from the newest. Keys are TokenKey values.
// Implementations must be safe for concurrent use and must never log or
// return a token in an error.
type TokenStore interface {
	// Load returns the stored token of key; ok is false when there is
	// none.
	Load(ctx context.Context, key string) (token string, ok bool, err error)
	// Save stores token as key's, replacing any other, durably: once
	// Save returns nil, a crash does not lose it.
	Save(ctx context.Context, key, token string) error
}

// TokenKey is the TokenStore key of a network's account.
func TokenKey(network, account string) string { return network + "/" + account }

// FileTokenStore is a TokenStore keeping one JSON file per key in a
// directory (created 0700 when missing). Files are written 0600, to a
// temporary file first and renamed over the old one, so a reader never
// sees a partial file.
type FileTokenStore struct {
	Dir string
}

// tokenFile is a FileTokenStore file.
type tokenFile struct {
	Key          string    `json:"key"`
	RefreshToken string    `json:"refresh_token"`
	SavedAt      time.Time `json:"saved_at"`
}

// path names key's file: the key with every byte outside [A-Za-z0-9._-]
// percent-encoded, so that distinct keys never share a file.
func (s *FileTokenStore) path(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return filepath.Join(s.Dir, b.String()+".json")
}

// Load implements TokenStore.
func (s *FileTokenStore) Load(_ context.Context, key string) (string, bool, error) {
	p := s.path(key)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("token store: %w", err)
	}
	var f tokenFile
	if err := json.Unmarshal(b, &f); err != nil || f.Key != key {
		return "", false, fmt.Errorf("token store: %s is not a token file of %s", p, key)
	}
	return f.RefreshToken, f.RefreshToken != "", nil
}

// Save implements TokenStore.
func (s *FileTokenStore) Save(_ context.Context, key, token string) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	b, err := json.Marshal(tokenFile{Key: key, RefreshToken: token, SavedAt: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, ".token-*")
	if err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	name := tmp.Name()
	fail := func(err error) error {
		_ = tmp.Close()
		_ = os.Remove(name)
		return fmt.Errorf("token store: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(name, s.path(key)); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("token store: %w", err)
	}
	if d, err := os.Open(s.Dir); err == nil {
		_ = d.Sync() // make the rename durable
		_ = d.Close()
	}
	return nil
}
