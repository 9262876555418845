package docstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MinSecretBytes is the shortest userid_hmac_secret accepted: an HMAC key
// short enough to guess lets anyone who reads a user id (they are shown
// in permissions) test passwords offline.
const MinSecretBytes = 16

// PlaceholderSecrets are values documentation and examples have shipped
// as "set your own" markers; a server must not run with one.
var PlaceholderSecrets = []string{"change-me-before-production"}

// CheckSecret refuses a secret too short or equal to a documented
// placeholder.
func CheckSecret(secret string) error {
	for _, p := range PlaceholderSecrets {
		if secret == p {
			return fmt.Errorf("%q is the documented placeholder, not a secret", secret)
		}
	}
	if len(secret) < MinSecretBytes {
		return fmt.Errorf("it is %d bytes long; at least %d are needed", len(secret), MinSecretBytes)
	}
	return nil
}

// LoadOrCreateSecret returns the secret kept in the file at path,
// creating the file (mode 0600, its directory 0700) with 32 random bytes
// in hex on first use, so user ids stay the same across restarts.
func LoadOrCreateSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		secret := strings.TrimSpace(string(b))
		if err := CheckSecret(secret); err != nil {
			return "", fmt.Errorf("secret file %s: %v", path, err)
		}
		return secret, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading secret file: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("creating the directory of the secret file: %v", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generating a secret: %v", err)
	}
	secret := hex.EncodeToString(raw)
	// O_EXCL: two configs starting at once must not overwrite each
	// other's secret; the loser reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateSecret(path)
	}
	if err != nil {
		return "", fmt.Errorf("creating secret file: %v", err)
	}
	_, err = f.WriteString(secret + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return "", fmt.Errorf("writing secret file: %v", err)
	}
	return secret, nil
}

// SecretFingerprint identifies a secret without revealing it: the HMAC
// of a constant under it.
func SecretFingerprint(secret string) string {
	return hmacHex(secret, "changegate userid_hmac_secret fingerprint")
}

// metaKind is the list holding changegate's own facts about a store; no
// Kinto URI lists objects of this kind.
const metaKind = "changegate-meta"

// secretMetaID is the id of the meta object holding the fingerprint.
const secretMetaID = "userid-secret"

// ErrSecretChanged is returned by RecordSecret when the store was written
// under another secret.
var ErrSecretChanged = errors.New("the user-id secret differs from the one this store was written with")

// RecordSecret compares fingerprint with the one recorded in the store,
// recording it when none is (a new store, or one from before
// fingerprints). A different one is ErrSecretChanged unless allowChange,
// which records the new one; changed tells that it did.
func (s *Store) RecordSecret(ctx context.Context, fingerprint string, allowChange bool) (changed bool, err error) {
	err = s.engine.Update(ctx, func(tx Tx) error {
		changed = false
		obj, err := tx.Get("", metaKind, secretMetaID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if obj != nil {
			var meta struct{ Fingerprint string }
			if err := json.Unmarshal(obj.Data, &meta); err != nil {
				return fmt.Errorf("decoding the recorded secret fingerprint: %v", err)
			}
			if meta.Fingerprint == fingerprint {
				return nil
			}
			if !allowChange {
				return ErrSecretChanged
			}
			changed = true
		}
		data, _ := json.Marshal(struct {
			Fingerprint string `json:"fingerprint"`
		}{fingerprint})
		return tx.Put("", metaKind, &Object{ID: secretMetaID, LastModified: s.nowMillis(), Data: data})
	})
	return changed, err
}
