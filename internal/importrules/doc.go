// Package importrules has no code: its test checks the import rules of
// docs/architecture.md against the real package graph (go list -deps), so
// a change that breaks a layer fails `go test ./...`.
package importrules
