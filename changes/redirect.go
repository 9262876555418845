package changes

import (
	"math/big"
	"net/http"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// These answers keep the number of distinct monitor URLs small, so a CDN
// caches them well: a client going back in time gets a cacheable 204, an
// old _since is dropped, a quoted _expected is unquoted.

// rawInt is the reference's int(value.strip('"')) on a raw parameter
// (its last value), before any validation.
func rawInt(ps kinto.Params, name, fallback string) (*big.Int, bool) {
	v, ok := ps.Get(name)
	if !ok {
		v = fallback
	}
	return kinto.PyInt(strings.Trim(v, `"`))
}

// staleExpected answers 204 when 0 < _expected < _since: the client asks
// to go back in time (_handle_stale_expected; it was a 400 until the
// reference switched to a 204 that CDNs cache).
func (h *Handler) staleExpected(w http.ResponseWriter, r *http.Request, ps kinto.Params, expose string) bool {
	since, ok := rawInt(ps, "_since", "")
	if !ok {
		return false
	}
	expected, ok := rawInt(ps, "_expected", "0")
	if !ok || expected.Sign() <= 0 || expected.Cmp(since) >= 0 {
		return false
	}
	h.setRedirectTTL(w.Header())
	h.send(w, r, http.StatusNoContent, expose)
	return true
}

// oldSince redirects a _since older than since_max_age_days to the same
// URL without it (_handle_old_since_redirect).
func (h *Handler) oldSince(w http.ResponseWriter, r *http.Request, ps kinto.Params, path, expose string) bool {
	if h.cfg.SinceMaxAgeDays < 0 {
		return false
	}
	since, ok := rawInt(ps, "_since", "")
	if !ok {
		return false
	}
	oldest := float64(h.now().UnixMicro())/1000 - float64(h.cfg.SinceMaxAgeDays)*24*3600*1000
	if f, _ := new(big.Float).SetInt(since).Float64(); f >= oldest {
		return false
	}
	h.setRedirectTTL(w.Header())
	h.redirect(w, r, path, ps.Without("_since"), expose)
	return true
}

// quotedExpected redirects a monitor changeset whose _expected has
// quotes to the unquoted URL (_handle_quoted_expected_redirect), without
// cache headers.
func (h *Handler) quotedExpected(w http.ResponseWriter, r *http.Request, ps kinto.Params, expected string) bool {
	unquoted := strings.ReplaceAll(expected, `"`, "")
	if unquoted == expected {
		return false
	}
	h.redirect(w, r, monitorChangesetPath, ps.With("_expected", unquoted), kinto.ExposeDefault)
	return true
}

// setRedirectTTL adds since_max_age_redirect_ttl_seconds as cache
// headers, none when it is negative.
func (h *Handler) setRedirectTTL(hd http.Header) {
	if ttl := h.cfg.SinceMaxAgeRedirectTTLSeconds; ttl >= 0 {
		setCacheExpires(hd, ttl, h.now())
	}
}

// redirect answers 307 to path with the query ps, on the configured
// redirect host, with Pyramid's HTML body.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, path string, ps kinto.Params, expose string) {
	location := h.cfg.redirectOrigin() + h.cfg.Prefix + path
	if len(ps) > 0 {
		location += "?" + ps.Encode()
	}
	ct, body := kinto.RedirectBody(r.Header.Get("Accept"), location)
	w.Header().Set("Location", location)
	w.Header().Set("Content-Type", ct)
	h.send(w, r, http.StatusTemporaryRedirect, expose, body)
}
