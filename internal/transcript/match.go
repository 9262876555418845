package transcript

import (
	"fmt"
	"regexp"
	"strings"
)

// Placeholders in expected values, written {kind} or {kind:name}:
//
//	{ts:name}    an integer (epoch milliseconds in Kinto)
//	{uuid:name}  a UUID version 4, as Kinto's generated record ids
//	{token:name} a run of URL-safe characters (pagination tokens)
//	{date}       an IMF-fixdate (RFC 9110 section 5.6.7)
//	{any}        anything, including nothing
//
// A named placeholder binds its value the first time it matches; later
// uses, in expectations or in requests, stand for that same value. Request
// lines, headers and bodies may use bound names only, plus any preset
// variable of the Replayer.
var placeholder = regexp.MustCompile(`\{(ts|uuid|token|date|any|var)(?::([A-Za-z0-9_.-]+))?\}`)

var kindPattern = map[string]string{
	"ts":    `-?[0-9]+`,
	"uuid":  `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`,
	"token": `[A-Za-z0-9_%=.-]+`,
	"date":  `(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT`,
	"any":   `(?s:.*)`,
}

// Match checks got against the template want, binding new names into
// vars. It binds nothing when the match fails.
func Match(want, got string, vars map[string]string) error {
	var (
		re    strings.Builder
		names []string
		last  int
	)
	re.WriteString(`\A`)
	for _, loc := range placeholder.FindAllStringSubmatchIndex(want, -1) {
		re.WriteString(regexp.QuoteMeta(want[last:loc[0]]))
		last = loc[1]
		kind, name := want[loc[2]:loc[3]], ""
		if loc[4] >= 0 {
			name = want[loc[4]:loc[5]]
		}
		if v, ok := vars[name]; ok && name != "" {
			re.WriteString(regexp.QuoteMeta(v))
			continue
		}
		if kind == "var" {
			return fmt.Errorf("variable %q is not set", name)
		}
		re.WriteString("(" + kindPattern[kind] + ")")
		names = append(names, name)
	}
	re.WriteString(regexp.QuoteMeta(want[last:]) + `\z`)
	m := regexp.MustCompile(re.String()).FindStringSubmatch(got)
	if m == nil {
		return fmt.Errorf("got\n\t%s\nwant\n\t%s", got, want)
	}
	bound := map[string]string{}
	for i, name := range names {
		if name == "" {
			continue
		}
		if prev, ok := bound[name]; ok && prev != m[i+1] {
			return fmt.Errorf("{%s} is both %s and %s in\n\t%s", name, prev, m[i+1], got)
		}
		bound[name] = m[i+1]
	}
	for k, v := range bound {
		vars[k] = v
	}
	return nil
}

// Expand puts bound values in place of the placeholders of a request.
func Expand(s string, vars map[string]string) (string, error) {
	var err error
	out := placeholder.ReplaceAllStringFunc(s, func(p string) string {
		m := placeholder.FindStringSubmatch(p)
		v, ok := vars[m[2]]
		if !ok && err == nil {
			err = fmt.Errorf("%s is not bound yet", p)
		}
		return v
	})
	return out, err
}
