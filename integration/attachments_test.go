package integration

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/testserver"
)

const attachmentsCaddyfile = changesGlobal + `:{port} {
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		attachments {
			folder {dir}/files
			base_url http://127.0.0.1:{port}/attachments
			max_size 1KB
			mimetypes text/* application/octet-stream
			%s
		}
	}
}
`

// formField is one part of a multipart form: a file when filename is
// set.
type formField struct{ name, filename, contentType, value string }

// multipartBody builds a multipart/form-data body and its Content-Type.
func multipartBody(t *testing.T, fields ...formField) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		h := textproto.MIMEHeader{}
		disp := fmt.Sprintf(`form-data; name=%q`, f.name)
		if f.filename != "" {
			disp += fmt.Sprintf(`; filename=%q`, f.filename)
		}
		h.Set("Content-Disposition", disp)
		if f.contentType != "" {
			h.Set("Content-Type", f.contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, f.value)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String(), "Content-Type: " + mw.FormDataContentType()
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

var attachmentName = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.txt(\.gz)?`)

// TestAttachments exercises the kinto-attachment API through a real
// server: upload with data and permissions, serving, replacement,
// removal, the checks, and file deletion with the record.
func TestAttachments(t *testing.T) {
	s := testserver.Start(t, fmt.Sprintf(attachmentsCaddyfile, ""))
	v1 := s.URL() + "/v1"
	alice := basic("alice")
	caps := do(t, "GET", v1+"/", "").json(t)["capabilities"].(map[string]any)
	if fmt.Sprint(caps["attachments"]) != fmt.Sprintf("map[base_url:%s/attachments/ description:Add file attachments to records url:https://github.com/Kinto/kinto-attachment/ version:7.0.0]", s.URL()) {
		t.Fatalf("attachments capability: %v", caps["attachments"])
	}
	changesCreate(t, v1, "b", "c")
	rec := v1 + "/buckets/b/collections/c/records/r1"
	endpoint := rec + "/attachment"

	body, ct := multipartBody(t, formField{"attachment", "test.txt", "text/plain", "test"},
		formField{"data", "", "", `{"foo":"bar"}`}, formField{"permissions", "", "", `{"read":["system.Everyone"]}`})
	do(t, "POST", endpoint, body, ct).expect(t, 401, msg401)
	do(t, "POST", endpoint, body, ct, basic("bob")).expect(t, 403, msg403)
	up := do(t, "POST", endpoint, body, ct, alice).expectStatus(t, 201).expectHeaders(t, "Location", rec, "Content-Type", "application/json")
	name := attachmentName.FindString(up.body)
	location := s.URL() + "/attachments/b/c/" + name
	meta := fmt.Sprintf(`{"filename":"test.txt","location":%q,"hash":%q,"mimetype":"text/plain","size":4}`, location, sha256Hex("test"))
	up.expect(t, 201, meta)
	got := do(t, "GET", rec, "", alice).expectStatus(t, 200)
	want := fmt.Sprintf(`{"permissions":{"read":["system.Everyone"],"write":[%q]},"data":{"foo":"bar","attachment":%s,"id":"r1","last_modified":%d}}`, userID("alice"), meta, got.etag(t))
	got.expect(t, 200, want)
	do(t, "GET", location, "").expect(t, 200, "test").
		expectHeaders(t, "Cache-Control", "public, max-age=31536000, immutable", "Content-Type", "text/plain; charset=utf-8")

	// A new upload replaces the file: the old one is gone.
	body2, ct2 := multipartBody(t, formField{"attachment", "other.txt", "text/plain", "other"})
	second := do(t, "POST", endpoint, body2, ct2, alice).expectStatus(t, 200)
	location2 := s.URL() + "/attachments/b/c/" + attachmentName.FindString(second.body)
	do(t, "GET", location, "").expectStatus(t, 404)
	do(t, "GET", location2, "").expect(t, 200, "other")
	if _, err := os.Stat(filepath.Join(s.Dir(), "files/b/c", name)); !os.IsNotExist(err) {
		t.Fatalf("the replaced file is still on disk: %v", err)
	}
	if !strings.Contains(do(t, "GET", rec, "", alice).body, `"foo":"bar"`) {
		t.Fatal("replacing the attachment must keep the record's data")
	}

	// DELETE unlinks and deletes it.
	do(t, "DELETE", endpoint, "", alice).expect(t, 204, "")
	if r := do(t, "GET", rec, "", alice); !strings.Contains(r.body, `"attachment":null`) {
		t.Fatalf("after DELETE: %s", r.body)
	}
	do(t, "GET", location2, "").expectStatus(t, 404)

	// kinto-attachment's refusals.
	const e400 = `{"code":400,"errno":%d,"error":"Bad Request","message":%q}`
	do(t, "POST", endpoint, `{}`, alice).expect(t, 400, fmt.Sprintf(e400, 107, "Content-Type should be multipart/form-data"))
	b, c := multipartBody(t, formField{"fichierjoint", "image.txt", "text/plain", "x"})
	do(t, "POST", endpoint, b, c, alice).expect(t, 400, `{"code":400,"errno":109,"error":"Bad Request","message":"body: 'fichierjoint' not in ('data', 'permissions')"}`)
	b, c = multipartBody(t, formField{"data", "", "", `{"a":1}`})
	do(t, "POST", endpoint, b, c, alice).expect(t, 400, fmt.Sprintf(e400, 109, "Attachment missing."))
	b, c = multipartBody(t, formField{"attachment", "a.txt", "text/plain", "x"}, formField{"data", "", "", `{>author: 12}`})
	do(t, "POST", endpoint, b, c, alice).expect(t, 400, fmt.Sprintf(e400, 109, "body: data is not valid JSON"))
	invalid := `{"code":400,"errno":107,"error":"Invalid parameters","message":"body: %[1]s","details":[{"location":"body","name":null,"description":"%[1]s"}]}`
	b, c = multipartBody(t, formField{"attachment", "big.txt", "text/plain", strings.Repeat("x", 1001)})
	do(t, "POST", endpoint, b, c, alice).expect(t, 400, fmt.Sprintf(invalid, "File size (1001 bytes) exceeds the limit (1000 bytes)."))
	b, c = multipartBody(t, formField{"attachment", "pic.png", "image/png", "x"})
	do(t, "POST", endpoint, b, c, alice).expect(t, 400, fmt.Sprintf(invalid, "File mimetype is not allowed."))
	if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "files/b/c")); len(entries) != 0 {
		t.Fatalf("refused uploads left files: %v", entries)
	}

	// A file with no committed link (as after a crash between the write
	// and the commit) is never served.
	orphan := "0b0b0b0b-0000-4000-8000-000000000000.txt"
	if err := os.WriteFile(filepath.Join(s.Dir(), "files/b/c", orphan), []byte("orphan"), 0o644); err != nil {
		t.Fatal(err)
	}
	do(t, "GET", s.URL()+"/attachments/b/c/"+orphan, "").expectStatus(t, 404)
	do(t, "GET", s.URL()+"/attachments/b/c/..%2F..%2Fdata.db", "").expectStatus(t, 404)

	// Deleting the record deletes its file; deleting the collection, the
	// collection's folder.
	third := do(t, "POST", endpoint, body, ct, alice).expectStatus(t, 200)
	location3 := s.URL() + "/attachments/b/c/" + attachmentName.FindString(third.body)
	do(t, "GET", location3, "").expectStatus(t, 200)
	do(t, "DELETE", rec, "", alice).expectStatus(t, 200)
	do(t, "GET", location3, "").expectStatus(t, 404)
	fourth := do(t, "POST", v1+"/buckets/b/collections/c/records/r2/attachment", body, ct, alice).expectStatus(t, 201)
	location4 := s.URL() + "/attachments/b/c/" + attachmentName.FindString(fourth.body)
	do(t, "DELETE", v1+"/buckets/b/collections/c", "", alice).expectStatus(t, 200)
	do(t, "GET", location4, "").expectStatus(t, 404)
	if _, err := os.Stat(filepath.Join(s.Dir(), "files/b/c")); !os.IsNotExist(err) {
		t.Fatalf("the collection's folder survived its deletion: %v", err)
	}
}

// TestAttachmentsGzip: gzipped storage keeps the original's metadata.
func TestAttachmentsGzip(t *testing.T) {
	s := testserver.Start(t, fmt.Sprintf(attachmentsCaddyfile, "gzip"))
	v1 := s.URL() + "/v1"
	changesCreate(t, v1, "b", "c")
	body, ct := multipartBody(t, formField{"attachment", "test.txt", "text/plain", "hello hello hello"})
	up := do(t, "POST", v1+"/buckets/b/collections/c/records/r1/attachment", body, ct, basic("alice")).expectStatus(t, 201)
	name := attachmentName.FindString(up.body)
	served := do(t, "GET", s.URL()+"/attachments/b/c/"+name, "", "Accept-Encoding: identity").expectStatus(t, 200)
	zr, err := gzip.NewReader(strings.NewReader(served.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != "hello hello hello" {
		t.Fatalf("stored file: %q", plain)
	}
	up.expect(t, 201, fmt.Sprintf(`{"filename":"test.txt.gz","location":%q,"hash":%q,"mimetype":"application/x-gzip","size":%d,`+
		`"original":{"filename":"test.txt","hash":%q,"mimetype":"text/plain","size":17}}`,
		s.URL()+"/attachments/b/c/"+name, sha256Hex(served.body), len(served.body), sha256Hex("hello hello hello")))
}

// TestAttachmentsOffByDefault: no attachment endpoint without the block.
func TestAttachmentsOffByDefault(t *testing.T) {
	s := testserver.Start(t, secured)
	body, ct := multipartBody(t, formField{"attachment", "a.txt", "text/plain", "x"})
	do(t, "POST", s.URL()+"/v1/buckets/b/collections/c/records/r/attachment", body, ct, basic("alice")).
		expect(t, 404, `{"code":404,"errno":111,"error":"Not Found","message":"The resource you are looking for could not be found."}`)
}

// TestAttachmentsRefusedUploadWritesNothing: an upload the caller may not
// make is refused before its file reaches the disk, so anonymous and
// unauthorised uploads cost no disk write (not even the folder).
func TestAttachmentsRefusedUploadWritesNothing(t *testing.T) {
	testserver.BoltOnly(t)
	s := testserver.Start(t, fmt.Sprintf(attachmentsCaddyfile, ""))
	v1 := s.URL() + "/v1"
	changesCreate(t, v1, "b", "c")
	endpoint := v1 + "/buckets/b/collections/c/records/r1/attachment"
	body, ct := multipartBody(t, formField{"attachment", "test.txt", "text/plain", "test"})
	do(t, "POST", endpoint, body, ct).expect(t, 401, msg401)
	do(t, "POST", endpoint, body, ct, basic("bob")).expect(t, 403, msg403)
	if _, err := os.Stat(filepath.Join(s.Dir(), "files", "b")); !os.IsNotExist(err) {
		t.Fatalf("refused uploads touched the attachments folder: stat says %v", err)
	}
	do(t, "POST", endpoint, body, ct, basic("alice")).expectStatus(t, 201)
	if _, err := os.Stat(filepath.Join(s.Dir(), "files", "b", "c")); err != nil {
		t.Fatalf("the accepted upload's folder: %v", err)
	}
}
