package caddymodule

import (
	"context"
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/changegate/changegate/docstore"
)

// secretFileSuffix names the file, next to the data file, that keeps the
// generated user-id secret.
const secretFileSuffix = ".userid_secret"

// userIDSecret is the secret keying user ids: the configured one, with
// its placeholders ({env.*}, {file.*}) resolved now so that the value
// never enters Caddy's autosaved config, or else one generated on first
// start and kept next to the data file. An empty result means no secret
// is needed (basicauth and the default bucket both off).
func (d *Docstore) userIDSecret(storage StorageConfig) (string, error) {
	configured := caddy.NewReplacer().ReplaceKnown(d.UserIDHMACSecret, "")
	if d.UserIDHMACSecret != "" {
		if err := docstore.CheckSecret(configured); err != nil {
			return "", fmt.Errorf("docstore: userid_hmac_secret is unsafe: %v. Set a random value of at least %d bytes "+
				"(e.g. `openssl rand -hex 32`), or remove the directive to have one generated and kept in %s",
				err, docstore.MinSecretBytes, storage.Path+secretFileSuffix)
		}
		return configured, nil
	}
	if !d.needsSecret() {
		return "", nil
	}
	if validatingOnly() {
		// Checking a config must not create files next to the data: the
		// docstore then runs on an empty in-memory store, keyed by a
		// secret that is never written down.
		return "validate-only-secret-never-stored", nil
	}
	if storage.Engine != "bolt" {
		// Instances sharing a database must share the secret: a file
		// next to one of them would give each its own user ids.
		return "", fmt.Errorf("docstore: %s storage needs userid_hmac_secret: every instance on that database must "+
			"use the same value (e.g. `userid_hmac_secret {env.CHANGEGATE_USERID_SECRET}` with `openssl rand -hex 32`)", storage.Engine)
	}
	secret, err := docstore.LoadOrCreateSecret(storage.Path + secretFileSuffix)
	if err != nil {
		return "", fmt.Errorf("docstore: no userid_hmac_secret configured and %v; fix the file or set userid_hmac_secret", err)
	}
	return secret, nil
}

// needsSecret reports whether basicauth or the default bucket is on.
func (d *Docstore) needsSecret() bool {
	return d.BasicAuth == nil || *d.BasicAuth || d.DefaultBucket == nil || *d.DefaultBucket
}

// recordSecret checks the secret against the fingerprint the store
// recorded: a new secret silently changes every basicauth user id and
// every personal bucket id, which locks users out of what they wrote.
func (d *Docstore) recordSecret(ctx caddy.Context, store *docstore.Store, storage StorageConfig, secret string) error {
	if secret == "" {
		return nil
	}
	changed, err := store.RecordSecret(context.Background(), docstore.SecretFingerprint(secret), d.UserIDSecretChange == "allow")
	if errors.Is(err, docstore.ErrSecretChanged) {
		return fmt.Errorf("docstore: userid_hmac_secret is not the secret %s was written with: with it every basicauth "+
			"user id and every personal (default) bucket id changes, so users lose access to what they created. "+
			"Restore the previous secret, or add `userid_secret_change allow` to the docstore block to adopt the new one "+
			"(then remove it)", storage.Path)
	}
	if err != nil {
		return fmt.Errorf("docstore: recording the user-id secret fingerprint in %s: %v", storage.Path, err)
	}
	if changed {
		ctx.Logger().Warn("userid_hmac_secret changed (userid_secret_change allow): every basicauth user id and personal bucket id is now different",
			zap.String("storage", storage.Path))
	}
	return nil
}

// warnFlush says at every start that the flush endpoint is on: anyone,
// even anonymous and even through a cross-site form post (no preflight),
// may then delete everything.
func (d *Docstore) warnFlush(ctx caddy.Context, storage StorageConfig) {
	if d.FlushEndpoint {
		ctx.Logger().Warn("flush_endpoint is enabled: anyone, even anonymous, may POST /__flush__ and delete everything in this store; use it on test servers only",
			zap.String("storage", storage.Path))
	}
}
