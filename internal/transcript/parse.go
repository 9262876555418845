// Package transcript reads and replays HTTP transcripts: a request, the
// status, the headers the protocol fixes and the exact body, with
// placeholders for the values a server chooses (timestamps, generated ids,
// dates). The docstore package tests replay them against an
// httptest handler; the same files can drive a real server, since a
// Replayer only needs a function that answers a request.
//
// File format, one exchange per section:
//
//	### [15] create record r1
//	PUT /v1/buckets/main/collections/a/records/r1 as user
//	Content-Type: application/json
//
//	{"data":{"title":"one","n":1}}
//	--> 201
//	ETag: "{ts:r1}"
//	!Cache-Control
//
//	{"data":{"id":"r1","last_modified":{ts:r1}}}
//
// "as NAME" sends Basic credentials NAME:pass. Response header lines assert
// a value ("Name: template") or an absence ("!Name"). Placeholders are
// described at Match. Lines starting with "#" outside bodies are comments.
package transcript

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Header is one header line of a transcript.
type Header struct {
	Name, Value string
}

// Exchange is one request and the response it must get.
type Exchange struct {
	Title string
	Line  int // line of the "###" heading, for failure messages

	Method, Path, User string
	Header             []Header
	Body               string

	Status     int
	Expect     []Header
	Absent     []string
	ExpectBody string
}

// ParseFile reads the transcript at path.
func ParseFile(path string) ([]Exchange, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening transcript: %w", err)
	}
	defer f.Close()
	ex, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ex, nil
}

// parser states within one exchange.
const (
	stRequestLine = iota
	stRequestHeaders
	stRequestBody
	stResponseHeaders
	stResponseBody
)

// Parse reads transcript exchanges from r.
func Parse(r io.Reader) ([]Exchange, error) {
	var (
		out   []Exchange
		cur   *Exchange
		state int
		body  []string
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		if state == stRequestBody || state == stResponseBody {
			text := strings.TrimRight(strings.Join(body, "\n"), "\n")
			if state == stRequestBody {
				return fmt.Errorf("line %d: %q has no \"-->\" response line", cur.Line, cur.Title)
			}
			cur.ExpectBody = text
		}
		if cur.Status == 0 {
			return fmt.Errorf("line %d: %q has no \"-->\" response line", cur.Line, cur.Title)
		}
		out = append(out, *cur)
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if title, ok := strings.CutPrefix(line, "### "); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			cur, state, body = &Exchange{Title: title, Line: n}, stRequestLine, nil
			continue
		}
		if cur == nil || (state != stRequestBody && state != stResponseBody && strings.HasPrefix(line, "#")) {
			continue
		}
		if err := parseLine(cur, &state, &body, line); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading transcript: %w", err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// parseLine feeds one line to the exchange being read.
func parseLine(cur *Exchange, state *int, body *[]string, line string) error {
	if status, ok := strings.CutPrefix(line, "--> "); ok && *state != stResponseHeaders && *state != stResponseBody {
		code, err := strconv.Atoi(strings.TrimSpace(status))
		if err != nil {
			return fmt.Errorf("bad status %q", status)
		}
		cur.Body = strings.TrimRight(strings.Join(*body, "\n"), "\n")
		cur.Status, *state, *body = code, stResponseHeaders, nil
		return nil
	}
	switch *state {
	case stRequestLine:
		if strings.TrimSpace(line) == "" {
			return nil
		}
		*state = stRequestHeaders
		return parseRequestLine(cur, line)
	case stRequestHeaders:
		if line == "" {
			*state = stRequestBody
			return nil
		}
		h, err := parseHeader(line)
		cur.Header = append(cur.Header, h)
		return err
	case stResponseHeaders:
		if line == "" {
			*state = stResponseBody
			return nil
		}
		if name, ok := strings.CutPrefix(line, "!"); ok {
			cur.Absent = append(cur.Absent, strings.TrimSpace(name))
			return nil
		}
		h, err := parseHeader(line)
		cur.Expect = append(cur.Expect, h)
		return err
	default:
		*body = append(*body, line)
		return nil
	}
}

// parseRequestLine reads "METHOD PATH [as USER]".
func parseRequestLine(cur *Exchange, line string) error {
	fields := strings.Fields(line)
	switch {
	case len(fields) == 2:
	case len(fields) == 4 && fields[2] == "as":
		cur.User = fields[3]
	default:
		return fmt.Errorf("request line %q is not \"METHOD PATH [as USER]\"", line)
	}
	cur.Method, cur.Path = fields[0], fields[1]
	return nil
}

func parseHeader(line string) (Header, error) {
	name, value, ok := strings.Cut(line, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return Header{}, fmt.Errorf("header line %q has no name", line)
	}
	return Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)}, nil
}
