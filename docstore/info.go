package docstore

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/changegate/changegate/internal/version"
	"github.com/changegate/changegate/kinto"
)

// serverInfo answers GET /v1/ for a caller (nil when anonymous).
func (h *Handler) serverInfo(req *request, id *identity) *response {
	h.mu.RLock()
	caps := make(map[string]any, len(h.capabilities))
	for k, v := range h.capabilities {
		caps[k] = v
	}
	h.mu.RUnlock()
	info := struct {
		ProjectName    string         `json:"project_name"`
		ProjectVersion string         `json:"project_version"`
		HTTPAPIVersion string         `json:"http_api_version"`
		ProjectDocs    string         `json:"project_docs"`
		URL            string         `json:"url"`
		EOS            string         `json:"eos,omitempty"`
		Settings       map[string]any `json:"settings"`
		Capabilities   map[string]any `json:"capabilities"`
		User           map[string]any `json:"user,omitempty"`
	}{
		ProjectName:    h.cfg.ProjectName,
		ProjectVersion: h.cfg.ProjectVersion,
		HTTPAPIVersion: HTTPAPIVersion,
		ProjectDocs:    h.cfg.ProjectDocs,
		URL:            req.origin + h.cfg.Prefix + "/",
		EOS:            h.cfg.EOS,
		Settings: map[string]any{
			"batch_max_requests":   h.cfg.BatchMaxRequests,
			"readonly":             h.cfg.Readonly,
			"explicit_permissions": true,
		},
		Capabilities: caps,
	}
	if id != nil && !id.anonymous() {
		info.User = h.userInfo(id)
	}
	return marshalResponse(http.StatusOK, info)
}

// identityOf reads the principals of a user.
func (h *Handler) identityOf(ctx context.Context, userID string) (*identity, error) {
	var id *identity
	err := h.store.read(ctx, func(o *op) error {
		var err error
		id, err = o.identify(userID)
		return err
	})
	return id, err
}

// version answers GET /v1/__version__ with Kinto's four fields; the
// commit is the one stamped in the binary ("unknown" without VCS stamping).
func (h *Handler) version(*request) *response {
	return marshalResponse(http.StatusOK, map[string]string{
		"name":    "changegate",
		"version": h.cfg.ProjectVersion,
		"source":  "https://github.com/changegate/changegate",
		"commit":  version.Get().Commit,
	})
}

// flush answers POST /v1/__flush__ when enabled: everything is deleted.
func (h *Handler) flush(ctx context.Context, req *request) *response {
	if !h.cfg.FlushEnabled {
		return errorResponse(errUnknownPath())
	}
	if req.method != http.MethodPost {
		return errorResponse(errMethodNotAllowed("OPTIONS, POST"))
	}
	err := h.store.write(ctx, func(o *op) error { return o.flush() })
	if err != nil {
		return h.internalError(req, err)
	}
	return jsonResponse(http.StatusAccepted, []byte("{}"))
}

// marshalResponse renders v as the JSON body of a response.
func marshalResponse(status int, v any) *response {
	body, err := json.Marshal(v)
	if err != nil {
		return errorResponse(kinto.AsError(err))
	}
	return jsonResponse(status, body)
}
