package memory_test

import (
	"testing"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/enginetest"
	"github.com/changegate/changegate/docstore/memory"
)

func TestEngine(t *testing.T) {
	enginetest.Run(t, func(t *testing.T) docstore.Engine {
		e := memory.New()
		t.Cleanup(func() { e.Close() })
		return e
	})
}
