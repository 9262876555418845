package integration

import (
	"fmt"
	"testing"

	"github.com/changegate/changegate/internal/testserver"
)

// TestMannersMethodOverrideDocstore: POST tunnels PATCH, PUT and DELETE
// to the docstore; anything else is refused with Kinto's 400.
func TestMannersMethodOverrideDocstore(t *testing.T) {
	s := testserver.Start(t, mannersDocstore)
	rec, ts := seedRecord(t, s.URL()+"/v1")
	const json = "Content-Type: application/json"
	patched := do(t, "POST", rec, `{"data":{"n":1}}`, json, "X-HTTP-Method-Override: PATCH", "If-Match: "+quoted(ts), "Accept-Encoding: identity")
	patched.expect(t, 200, fmt.Sprintf(`{"permissions":%s,"data":{"title":"one","id":"r1","n":1,"last_modified":%d}}`, anonWrite, patched.etag(t)))
	do(t, "POST", rec, "", "X-HTTP-Method-Override: delete", "If-Match: "+quoted(ts), "Accept-Encoding: identity").
		expect(t, 412, fmt.Sprintf(`{"code":412,"errno":114,"error":"Precondition Failed","message":"Resource was modified meanwhile","details":{"existing":{"title":"one","id":"r1","n":1,"last_modified":%d}}}`, patched.etag(t)))
	refused := func(desc string) string {
		return fmt.Sprintf(`{"code":400,"errno":107,"error":"Invalid parameters","message":"%s","details":[{"location":"header","name":"X-HTTP-Method-Override","description":"%s"}]}`, desc, desc)
	}
	do(t, "GET", rec, "", "X-HTTP-Method-Override: DELETE").expect(t, 400, refused("X-HTTP-Method-Override is only honoured on POST, not GET"))
	do(t, "POST", rec, "{}", json, "X-HTTP-Method-Override: GET").expect(t, 400, refused("X-HTTP-Method-Override may turn POST into PUT, PATCH, DELETE only"))
	do(t, "GET", rec, "").expectStatus(t, 200) // still there
}

// TestMannersMethodOverrideProxy: the upstream sees the method, not the
// header; refusals elsewhere than Kinto routes go through Caddy's error
// handling.
func TestMannersMethodOverrideProxy(t *testing.T) {
	api := startForeignAPI(t)
	base := startSidecar(t, mannersGlobal+`:{port} {
	method_override
	@writes method PUT PATCH DELETE
	respond @writes "seen as a write" 200
	reverse_proxy {upstream}
}
`, api).URL()
	// Matchers after method_override see the overridden method.
	do(t, "POST", base+"/echo", "{}", "X-HTTP-Method-Override: PUT").expect(t, 200, "seen as a write")
	do(t, "POST", base+"/echo", "{}").expect(t, 200, `{"method":"POST","query":"","if_match":"","if_none_match":"","override":""}`)
	do(t, "DELETE", base+"/echo", "", "X-HTTP-Method-Override: PATCH").expect(t, 400, "")
	do(t, "POST", base+"/echo", "{}", "X-HTTP-Method-Override: CONNECT").expect(t, 400, "")

	base = startSidecar(t, mannersSidecar, api).URL()
	do(t, "POST", base+"/echo", "{}", "X-HTTP-Method-Override: patch", "Accept-Encoding: identity").
		expect(t, 200, `{"method":"PATCH","query":"","if_match":"","if_none_match":"","override":""}`)
}
