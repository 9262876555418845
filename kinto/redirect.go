package kinto

import (
	"html"
	"mime"
	"strconv"
	"strings"
)

// RedirectBody is the body Kinto's 307s carry (WebOb's
// HTTPTemporaryRedirect page), in the type the Accept header prefers
// among text/html and application/json, else text/plain. message is the
// location as Kinto's redirect names it (relative for the trailing-slash
// redirects, absolute for the changes plugin's).
func RedirectBody(accept, message string) (contentType string, body []byte) {
	const status = "307 Temporary Redirect"
	text := "The resource has been moved to " + message + "; you should be redirected automatically.\n\n"
	switch preferredOffer(accept, "text/html", "application/json") {
	case "text/html":
		return "text/html; charset=UTF-8", []byte("<html>\n <head>\n  <title>" + status + "</title>\n </head>\n <body>\n  <h1>" +
			status + "</h1>\n  " + html.EscapeString(text) + "\n </body>\n</html>")
	case "application/json":
		return "application/json", pythonJSON([][2]string{{"message", text}, {"code", status}, {"title", "Temporary Redirect"}})
	}
	return "text/plain; charset=UTF-8", []byte(status + "\n\n" + text)
}

// pythonJSON renders string members as Python's json.dumps does by
// default (", " and ": " separators, non-ASCII escaped).
func pythonJSON(members [][2]string) []byte {
	out := []byte{'{'}
	for i, m := range members {
		if i > 0 {
			out = append(out, ", "...)
		}
		out = append(AppendPythonJSONString(out, m[0]), ": "...)
		out = AppendPythonJSONString(out, m[1])
	}
	return append(out, '}')
}

// preferredOffer is the offer the Accept header ranks first (q-values,
// most specific range wins, ties in offer order), or "" when it accepts
// none. A missing or unparsable header accepts every offer, as WebOb's
// acceptable_offers does.
func preferredOffer(accept string, offers ...string) string {
	if strings.TrimSpace(accept) == "" {
		return offers[0]
	}
	type ranged struct {
		mediaRange  string
		specificity int
		q           float64
	}
	var ranges []ranged
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			return offers[0]
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				return offers[0]
			}
		}
		spec := 2
		switch {
		case mt == "*/*":
			spec = 0
		case strings.HasSuffix(mt, "/*"):
			spec = 1
		}
		ranges = append(ranges, ranged{mt, spec, q})
	}
	best, bestQ := "", 0.0
	for _, offer := range offers {
		q, spec := 0.0, -1
		for _, r := range ranges {
			matches := r.mediaRange == offer || r.mediaRange == "*/*" ||
				(r.specificity == 1 && strings.HasPrefix(offer, strings.TrimSuffix(r.mediaRange, "*")))
			if matches && r.specificity > spec {
				q, spec = r.q, r.specificity
			}
		}
		if q > bestQ {
			best, bestQ = offer, q
		}
	}
	return best
}
