package docstore

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// KindAttachment is the link between a stored file and its record
// (kinto-attachment's "attachments" objects). Links live under the
// record's collection URI, named by the file name, so that deleting the
// collection or the bucket deletes them with it.
const KindAttachment = "attachment"

// AttachmentsConfig holds the settings of the attachments feature (the
// kinto-attachment API).
type AttachmentsConfig struct {
	// Folder is the directory files are stored in, one sub-directory per
	// bucket and collection.
	Folder string
	// BaseURL is the public URL of Folder ("http://cdn.example/attach");
	// locations are BaseURL + "/" + bucket/collection/file. Its path is
	// where the docstore serves the files itself.
	BaseURL string
	// MaxSize bounds a file's size in bytes. Default: 10 MiB.
	MaxSize int64
	// Extensions are the allowed file extensions, in kinto-attachment's
	// syntax ("default", "any", groups such as "images+pdf"). Default:
	// "any".
	Extensions string
	// Mimetypes allow-lists the files' media types ("image/*" matches a
	// family); none means any.
	Mimetypes []string
	// Gzip stores files gzipped, the original's metadata kept in the
	// attachment's "original" member.
	Gzip bool
	// KeepOldFiles keeps a replaced file on disk (kinto-attachment's
	// keep_old_files); its link is dropped, so it is no longer served.
	KeepOldFiles bool
}

// servePath is the URL path below which the docstore serves files: the
// path of BaseURL, with a trailing slash.
func (c *AttachmentsConfig) servePath() string {
	p := c.BaseURL
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
		if j := strings.IndexByte(p, '/'); j >= 0 {
			p = p[j:]
		} else {
			p = "/"
		}
	}
	return strings.TrimSuffix(p, "/") + "/"
}

// dir is the directory of a collection's files.
func (c *AttachmentsConfig) dir(bucket, collection string) string {
	return filepath.Join(c.Folder, bucket, collection)
}

// writeFile stores content as dir/name durably: written to a temporary
// file, fsynced, renamed, and the directory fsynced. Until the record
// that links it commits, the file is not served (see serveAttachment).
func writeFile(dir, name string, content []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the attachments folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return fmt.Errorf("storing an attachment: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return fmt.Errorf("storing an attachment: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("storing an attachment: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("storing an attachment: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("storing an attachment: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeFile deletes a stored file, logging failures: the record write
// that dropped it is already committed.
func (h *Handler) removeFile(p string) {
	if err := os.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		h.logger.Error("deleting an attachment", "path", p, "error", err)
	}
}

// serveAttachment serves GET/HEAD below the attachments base path. A
// file is served only while a committed link names it, so a file written
// by an upload whose record never committed (a crash in between) is
// never served. Names are random and never reused: the answers are
// cacheable for good.
func (h *Handler) serveAttachment(w http.ResponseWriter, r *http.Request) {
	cfg := h.cfg.Attachments
	rel := strings.TrimPrefix(r.URL.Path, cfg.servePath())
	parts := strings.Split(rel, "/")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if len(parts) != 3 || !validID(parts[0]) || !validID(parts[1]) || !validFileName(parts[2]) {
		http.NotFound(w, r)
		return
	}
	linked := false
	err := h.store.read(r.Context(), func(o *op) error {
		_, err := o.tx.Get(CollectionURI(parts[0], parts[1]), KindAttachment, parts[2])
		linked = err == nil
		return ignoreNotFound(err)
	})
	if err != nil {
		h.logger.Error("reading an attachment link", "path", rel, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if !linked {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(filepath.Join(cfg.dir(parts[0], parts[1]), parts[2]))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	hd := w.Header()
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("ETag", `"`+strings.TrimSuffix(parts[2], path.Ext(parts[2]))+`"`)
	h.cors.Apply(r.Header.Get("Origin"), hd)
	http.ServeContent(w, r, parts[2], time.Time{}, f)
}

// validFileName accepts the names writeFile gives: a UUID and an
// extension, nothing that could leave the folder.
func validFileName(name string) bool {
	return name != "" && !strings.HasPrefix(name, ".") && filepath.IsLocal(name) && !strings.ContainsAny(name, `/\`)
}

// removeAttachments deletes, once the transaction commits, the files of
// what r's deletion removes: a record's attachment, or the whole folder
// of a collection or a bucket (their links go with the tree).
func (o *op) removeAttachments(r ref) error {
	cfg := o.attachments
	if cfg == nil || o.removeFile == nil {
		return nil
	}
	switch r.Kind {
	case KindRecord:
		rec, err := o.get(r)
		if err != nil {
			return err
		}
		return o.unlinkAttachment(r, rec)
	case KindCollection:
		dir := cfg.dir(r.Bucket, r.ID)
		o.afterCommit(func() { o.removeFile(dir) })
	case KindBucket:
		dir := filepath.Join(cfg.Folder, r.ID)
		o.afterCommit(func() { o.removeFile(dir) })
	}
	return nil
}
