package importrules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/changegate/changegate"

// glue are the packages allowed to know Caddy: the module glue and the
// binary. Test-only packages (integration) run Caddy as a process.
var glue = []string{"caddymodule", "cmd/changegate"}

// docstoreFree lists the packages that must not link the document store
// (docstore or anything under it): they share Kinto's vocabulary through
// the protocol floor instead. future marks packages that may not exist
// yet; the rule applies as soon as they do.
var docstoreFree = []rule{
	{pkg: "render"},
	{pkg: "conditional"},
	{pkg: "cache"},
	{pkg: "ratelimit"},
	{pkg: "changes"},
	{pkg: "changes/upstream"},
	{pkg: "feeds"},
	{pkg: "kinto"},
	{pkg: "kinto/query"},
}

// expectedViolations are the docstoreFree rules that do not hold yet, by
// package (the test logs what each still links). The move of
// the Kinto vocabulary to its own floor removes them; the test fails when
// a listed violation is gone, so the list only shrinks.
type rule struct {
	pkg    string
	future bool
}

var expectedViolations = map[string]bool{}

type pkg struct {
	ImportPath                         string
	Deps                               []string
	Imports, TestImports, XTestImports []string
}

var (
	listOnce sync.Once
	listed   map[string]pkg
	listErr  error
)

// packages lists every package of the module with its dependencies, keyed
// by path inside the module; go list runs once per test binary.
func packages(t *testing.T) map[string]pkg {
	t.Helper()
	listOnce.Do(func() { listed, listErr = goList() })
	if listErr != nil {
		t.Fatal(listErr)
	}
	return listed
}

func goList() (map[string]pkg, error) {
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Deps,Imports,TestImports,XTestImports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, stderr.String())
	}
	all := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		all[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p
	}
	if len(all) < 10 {
		return nil, fmt.Errorf("go list found only %d packages", len(all))
	}
	return all, nil
}

// under reports whether import path dep is pkg or inside it.
func under(dep, pkg string) bool {
	return dep == pkg || strings.HasPrefix(dep, pkg+"/")
}

// linked returns the dependencies of p inside prefix.
func linked(p pkg, prefix string) []string {
	var out []string
	for _, d := range p.Deps {
		if under(d, prefix) {
			out = append(out, d)
		}
	}
	return out
}

// TestNoDomainPackageLinksCaddy: only the glue links Caddy, so every
// domain package builds and tests without it.
func TestNoDomainPackageLinksCaddy(t *testing.T) {
	for name, p := range packages(t) {
		if slices.Contains(glue, name) {
			continue
		}
		if deps := linked(p, "github.com/caddyserver/caddy"); len(deps) > 0 {
			t.Errorf("%s links Caddy (%s); only %v may", name, strings.Join(deps, ", "), glue)
		}
	}
}

// TestNothingImportsCaddymodule: the glue is the top floor; only the
// binary imports it, and no test reaches into it from outside.
func TestNothingImportsCaddymodule(t *testing.T) {
	glueModule := module + "/caddymodule"
	for name, p := range packages(t) {
		if name == "caddymodule" || name == "cmd/changegate" {
			continue
		}
		imports := slices.Concat(p.Deps, p.TestImports, p.XTestImports)
		if slices.Contains(imports, glueModule) {
			t.Errorf("%s imports caddymodule", name)
		}
	}
}

// TestDocstoreFreePackages checks the docstoreFree table, allowing only
// the expected violations and failing when one of them is fixed, so that
// the entry is removed.
func TestDocstoreFreePackages(t *testing.T) {
	all := packages(t)
	for _, rule := range docstoreFree {
		p, ok := all[rule.pkg]
		if !ok {
			if !rule.future {
				t.Errorf("rule names %s, which is not a package of the module", rule.pkg)
			}
			continue
		}
		deps := linked(p, module+"/docstore")
		switch {
		case len(deps) > 0 && !expectedViolations[rule.pkg]:
			t.Errorf("%s links the document store (%s); it must use the protocol floor", rule.pkg, strings.Join(deps, ", "))
		case len(deps) == 0 && expectedViolations[rule.pkg]:
			t.Errorf("%s no longer links the document store: remove it from expectedViolations", rule.pkg)
		case len(deps) > 0:
			t.Logf("expected violation, still to fix: %s links %s", rule.pkg, strings.Join(deps, ", "))
		}
	}
	for name := range expectedViolations {
		if !slices.ContainsFunc(docstoreFree, func(r rule) bool { return r.pkg == name }) {
			t.Errorf("expectedViolations names %s, which has no rule", name)
		}
	}
}
