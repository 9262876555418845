package docstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/changegate/changegate/kinto"
	"github.com/google/uuid"
	"github.com/tidwall/gjson"
)

// upload is a parsed attachment POST.
type upload struct {
	content  []byte
	meta     json.RawMessage // the record's "attachment" object
	fileName string          // the stored file's name
	data     json.RawMessage // posted record data, or nil
	perms    Permissions     // posted permissions, or nil
}

// attachmentEndpoint serves POST and DELETE on
// /buckets/{bid}/collections/{cid}/records/{rid}/attachment. A POST's file
// is stored before the record's transaction and removed again when the
// transaction does not commit; it is served only once its link commits.
func (h *Handler) attachmentEndpoint(ctx context.Context, req *request, r ref) *response {
	if h.cfg.Attachments == nil {
		return errorResponse(errUnknownPath())
	}
	r, personal := h.personalBucket(req, r)
	var up *upload
	switch req.method {
	case http.MethodPost:
		var err error
		if up, err = h.parseUpload(req, r); err != nil {
			return errorResponse(kinto.AsError(err))
		}
		if refused := h.mayUpload(ctx, req, r, personal); refused != nil {
			return refused
		}
		dir := h.cfg.Attachments.dir(r.Bucket, r.Collection)
		if err := writeFile(dir, up.fileName, up.content); err != nil {
			return h.internalError(req, err)
		}
	case http.MethodDelete:
	default:
		resp := errorResponse(errMethodNotAllowed("DELETE, OPTIONS, POST"))
		return resp
	}
	var resp *response
	err := h.store.write(ctx, func(o *op) error {
		var err error
		h.prepare(o, req)
		if personal && !h.cfg.Readonly {
			// The personal bucket and its collection come into being on
			// first use, as for any record written there.
			for _, own := range []ref{{Kind: KindBucket, ID: r.Bucket}, {Kind: KindCollection, Bucket: r.Bucket, ID: r.Collection}} {
				if err := o.ensure(own, req.userID); err != nil {
					return err
				}
			}
		}
		resp, err = h.serveAttachmentWrite(o, req, r, up)
		return err
	})
	if up != nil && (err != nil || resp.status >= 300) {
		h.removeFile(filepath.Join(h.cfg.Attachments.dir(r.Bucket, r.Collection), up.fileName))
	}
	if err != nil {
		return h.internalError(req, err)
	}
	return resp
}

// authorizeAttachment returns the record, once the caller may write it:
// kinto-attachment asks write on an existing record, record:create on
// the collection otherwise, which is what a PUT of the record asks.
func (h *Handler) authorizeAttachment(o *op, req *request, r ref) (*Object, error) {
	h.prepare(o, req)
	id, err := o.identify(req.userID)
	if err != nil {
		return nil, err
	}
	if !validID(r.ID) {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "path", Description: "Invalid object id", Nameless: true})
	}
	existing, err := o.get(r)
	if err != nil {
		return nil, err
	}
	asPut := *req
	asPut.method = http.MethodPut
	asPut.header = http.Header{}
	if _, err := h.authorize(o, id, &asPut, r, existing); err != nil {
		return nil, err
	}
	return existing, nil
}

// mayUpload refuses, before the file touches the disk, a caller who may
// not write the record (the transaction checks again): refused uploads
// must cost no disk write. A personal bucket that does not exist yet is
// left to the transaction, which creates it for its owner.
func (h *Handler) mayUpload(ctx context.Context, req *request, r ref, personal bool) *response {
	if personal {
		return nil
	}
	var refused *response
	err := h.store.read(ctx, func(o *op) error {
		refused = nil
		_, err := h.authorizeAttachment(o, req, r)
		if ke, ok := err.(*kinto.Error); ok {
			refused, err = errorResponse(ke), nil
		}
		return err
	})
	if err != nil {
		return h.internalError(req, err)
	}
	return refused
}

// serveAttachmentWrite links (POST) or unlinks (DELETE) the record's
// attachment inside o's transaction.
func (h *Handler) serveAttachmentWrite(o *op, req *request, r ref, up *upload) (*response, error) {
	resp, err := h.attachmentWrite(o, req, r, up)
	if ke, ok := err.(*kinto.Error); ok {
		resp, err = errorResponse(ke), nil
	}
	return resp, err
}

func (h *Handler) attachmentWrite(o *op, req *request, r ref, up *upload) (*response, error) {
	existing, err := h.authorizeAttachment(o, req, r)
	if err != nil {
		return nil, err
	}
	if err := o.requireParents(r); err != nil {
		return nil, err
	}
	if up == nil {
		if existing == nil {
			return nil, notFound(r.Kind, r.ID)
		}
		if err := h.dropAttachment(o, r, existing); err != nil {
			return nil, err
		}
		data := mergeObject(existing.Data, []byte(`{"attachment":null}`), false)
		if _, err := o.save(r, data, existing.Permissions.clone(), req.principal()); err != nil {
			return nil, err
		}
		return newResponse(http.StatusNoContent, nil), nil
	}
	data := up.data
	if data == nil {
		data = []byte("{}")
	}
	data = mergeObject(data, buildObject([]member{{key: "attachment", val: up.meta}}), false)
	perms := Permissions{}
	status := http.StatusCreated
	if existing != nil {
		if err := h.dropAttachment(o, r, existing); err != nil {
			return nil, err
		}
		data = mergeObject(existing.Data, data, false)
		perms = existing.Permissions.clone()
		status = http.StatusOK
	}
	perms.replace(up.perms)
	if _, err := o.save(r, data, perms, req.principal()); err != nil {
		return nil, err
	}
	link := buildObject([]member{{key: "record_uri", val: kinto.AppendJSONString(nil, r.uri())}})
	if err := o.putLink(CollectionURI(r.Bucket, r.Collection), &Object{ID: up.fileName, Data: link}); err != nil {
		return nil, err
	}
	resp := newResponse(status, up.meta)
	resp.header.Set("Location", req.origin+h.cfg.Prefix+r.uri())
	return resp, nil
}

// prepare gives o what the writes of req need to know: who makes them
// and what the optional features track.
func (h *Handler) prepare(o *op, req *request) {
	o.actor, o.history, o.attachments, o.removeFile = req.userID, h.cfg.History, h.cfg.Attachments, h.removeFile
}

// dropAttachment unlinks the file of a record's current attachment.
func (h *Handler) dropAttachment(o *op, r ref, rec *Object) error {
	return o.unlinkAttachment(r, rec)
}

// unlinkAttachment removes the link of rec's attachment file, if any,
// and deletes the file once the transaction commits (unless old files
// are kept).
func (o *op) unlinkAttachment(r ref, rec *Object) error {
	cfg := o.attachments
	if cfg == nil || rec == nil {
		return nil
	}
	name := path.Base(gjson.GetBytes(rec.Data, "attachment.location").Str)
	if !validFileName(name) {
		return nil
	}
	parent := CollectionURI(r.Bucket, r.Collection)
	link, err := o.tx.Get(parent, KindAttachment, name)
	if errors.Is(err, ErrNotFound) || (err == nil && gjson.GetBytes(link.Data, "record_uri").Str != r.uri()) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := o.putLink(parent, &Object{ID: name, Deleted: true}); err != nil {
		return err
	}
	if !cfg.KeepOldFiles && o.removeFile != nil {
		p := filepath.Join(cfg.dir(r.Bucket, r.Collection), name)
		o.afterCommit(func() { o.removeFile(p) })
	}
	return nil
}

// parseUpload reads the multipart body of an attachment POST, with
// kinto-attachment's checks and errors.
func (h *Handler) parseUpload(req *request, r ref) (*upload, error) {
	cfg := h.cfg.Attachments
	mt, params, err := mime.ParseMediaType(req.header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, kinto.NewError(http.StatusBadRequest, kinto.ErrnoInvalidParameters, "Content-Type should be multipart/form-data")
	}
	if params["boundary"] == "" {
		return nil, kinto.NewError(http.StatusBadRequest, kinto.ErrnoInvalidParameters, "Invalid boundary in multipart form: ''")
	}
	mr := multipart.NewReader(bytes.NewReader(req.body), params["boundary"])
	up := &upload{}
	var file *multipart.Part
	var fileContent []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, kinto.NewError(http.StatusBadRequest, kinto.ErrnoInvalidParameters, "Invalid multipart form: "+err.Error())
		}
		value, err := io.ReadAll(part)
		if err != nil {
			return nil, kinto.NewError(http.StatusBadRequest, kinto.ErrnoInvalidParameters, "Invalid multipart form: "+err.Error())
		}
		switch name := part.FormName(); name {
		case "attachment":
			file, fileContent = part, value
		case "data", "permissions":
			if part.FileName() != "" {
				return nil, kinto.NewError(http.StatusBadRequest, kinto.ErrnoInvalidPostedData, "body: '"+name+"' field should be passed as form data, not files")
			}
			if err := up.setField(name, value); err != nil {
				return nil, err
			}
		default:
			return nil, kinto.NewError(http.StatusBadRequest, kinto.ErrnoInvalidPostedData, "body: '"+name+"' not in ('data', 'permissions')")
		}
	}
	if file == nil {
		return nil, kinto.NewError(http.StatusBadRequest, kinto.ErrnoInvalidPostedData, "Attachment missing.")
	}
	return up, up.setFile(cfg, r, file.FileName(), file.Header.Get("Content-Type"), fileContent)
}

// setField reads the data or permissions form field.
func (up *upload) setField(name string, value []byte) error {
	if !json.Valid(value) {
		return kinto.NewError(http.StatusBadRequest, kinto.ErrnoInvalidPostedData, "body: "+name+" is not valid JSON")
	}
	if name == "data" {
		if !isObject(value) {
			return notMapping("data", value)
		}
		up.data = compactJSON(value)
		return nil
	}
	perms, _, err := parsePermissions(value)
	if err != nil {
		return err
	}
	if err := checkKnownPermissions(KindRecord, perms); err != nil {
		return err
	}
	up.perms = perms
	return nil
}

// setFile checks the file and builds the record's attachment object:
// filename, location, hash, mimetype, size, and original when gzipped.
func (up *upload) setFile(cfg *AttachmentsConfig, r ref, name, mediaType string, content []byte) error {
	invalid := func(msg string) error {
		return kinto.Invalid(kinto.ValidationDetail{Location: "body", Description: msg, Nameless: true})
	}
	if name == "" {
		return invalid("Filename is required.")
	}
	if int64(len(content)) > cfg.MaxSize {
		return invalid("File size (" + strconv.Itoa(len(content)) + " bytes) exceeds the limit (" + strconv.FormatInt(cfg.MaxSize, 10) + " bytes).")
	}
	ext := strings.ToLower(filepath.Ext(name))
	if allowed := resolveExtensions(cfg.Extensions); len(allowed) > 0 && !slices.Contains(allowed, strings.TrimPrefix(ext, ".")) {
		return invalid("File extension is not allowed.")
	}
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	if mt, ok := map[string]string{".pem": "application/x-pem-file", ".geojson": "application/geojson"}[ext]; ok {
		mediaType = mt
	}
	if !mimetypeAllowed(cfg.Mimetypes, mediaType) {
		return invalid("File mimetype is not allowed.")
	}
	up.fileName = uuid.NewString() + ext
	var original []byte
	if cfg.Gzip {
		original = fileMeta(name, "", mediaType, content)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(content)
		_ = zw.Close()
		content, name, mediaType = buf.Bytes(), name+".gz", "application/x-gzip"
		up.fileName += ".gz"
	}
	up.content = content
	location := strings.TrimSuffix(cfg.BaseURL, "/") + "/" + r.Bucket + "/" + r.Collection + "/" + up.fileName
	up.meta = fileMeta(name, location, mediaType, content)
	if original != nil {
		up.meta = buildObject(append(members(up.meta), member{key: "original", val: original}))
	}
	return nil
}

// fileMeta renders {"filename","location","hash","mimetype","size"}
// (no location for an original).
func fileMeta(name, location, mediaType string, content []byte) []byte {
	sum := sha256.Sum256(content)
	ms := []member{{key: "filename", val: kinto.AppendJSONString(nil, name)}}
	if location != "" {
		ms = append(ms, member{key: "location", val: kinto.AppendJSONString(nil, location)})
	}
	return buildObject(append(ms,
		member{key: "hash", val: kinto.AppendJSONString(nil, hex.EncodeToString(sum[:]))},
		member{key: "mimetype", val: kinto.AppendJSONString(nil, mediaType)},
		member{key: "size", val: strconv.AppendInt(nil, int64(len(content)), 10)}))
}

// mimetypeAllowed matches a media type against the allow-list ("type/*"
// matches a family; an empty list allows everything).
func mimetypeAllowed(allowed []string, mediaType string) bool {
	if len(allowed) == 0 {
		return true
	}
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		return false
	}
	for _, a := range allowed {
		if a == mt || (strings.HasSuffix(a, "/*") && strings.HasPrefix(mt, strings.TrimSuffix(a, "*"))) {
			return true
		}
	}
	return false
}

// extensionGroups are kinto-attachment's named extension groups.
var extensionGroups = map[string][]string{
	"documents":   strings.Fields("pdf rtf odf ods gnumeric abw doc docx xls xlsx"),
	"text":        {"txt"},
	"images":      strings.Fields("jpg jpe jpeg png gif svg bmp tiff"),
	"audio":       strings.Fields("wav mp3 aac ogg oga flac"),
	"video":       strings.Fields("mpeg 3gp avi divx dvr flv mp4 wmv"),
	"data":        strings.Fields("csv ini json plist xml yaml yml"),
	"scripts":     strings.Fields("js php pl py rb sh"),
	"archives":    strings.Fields("gz bz2 zip tar tgz txz 7z"),
	"executables": strings.Fields("so exe dll"),
	"any":         {},
}

// resolveExtensions reads an extensions setting ("images+pdf",
// "default", "any"); an empty result allows any extension.
func resolveExtensions(setting string) []string {
	var out []string
	for group := range strings.SplitSeq(setting, "+") {
		switch exts, ok := extensionGroups[group]; {
		case group == "default":
			for _, g := range []string{"documents", "text", "images", "data"} {
				out = append(out, extensionGroups[g]...)
			}
		case ok:
			out = append(out, exts...)
		default:
			for _, e := range strings.Fields(group) {
				out = append(out, strings.ToLower(e))
			}
		}
	}
	return out
}

// putLink stores an attachment link (or its tombstone) with a timestamp
// of its own: Kinto's PostgreSQL schema has a unique index on (parent,
// resource name, last_modified), so two links of a collection written in
// one transaction (a replaced upload) must not share one.
func (o *op) putLink(parent string, link *Object) error {
	ts, err := o.bumpTimestamp(parent, KindAttachment, 0)
	if err != nil {
		return err
	}
	link.LastModified = ts
	return o.tx.Put(parent, KindAttachment, link)
}
