package postgres

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/changegate/changegate/docstore"
)

// Reads run for every GET: what they can share between requests is built
// once here rather than per request (profile of record GETs: the query
// text and the decoding of the same permission copies were 10% of the
// engine's CPU outside the round trip).

// getManyQueries holds the statement of GetMany per number of keys.
var getManyQueries sync.Map

// getManyQuery returns the statement that reads n objects: one index
// scan per key, appended, cheaper than a row IN list, which PostgreSQL
// plans as a bitmap scan over OR-ed conditions.
func getManyQuery(n int) string {
	if q, ok := getManyQueries.Load(n); ok {
		return q.(string)
	}
	cols := columns(docstore.ScanOptions{})
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`(SELECT o.parent_id, o.resource_name, %s FROM objects o
			WHERE o.id = $%d AND o.parent_id = $%d AND o.resource_name = $%d AND NOT o.deleted)`, cols, 3*i+1, 3*i+2, 3*i+3)
	}
	q := strings.Join(parts, " UNION ALL ")
	getManyQueries.Store(n, q)
	return q
}

// maxOrders bounds the decoded permission copies kept: buckets and
// collections are read with every request under them, and share a few
// copies; records' copies are many, so the cache starts over when full.
const maxOrders = 4096

var orders struct {
	sync.Mutex
	m map[string]docstore.Permissions
}

// principalOrder decodes our ordered copy of an object's permissions.
// The result is shared: callers only read it.
func principalOrder(ordered []byte) (docstore.Permissions, error) {
	orders.Lock()
	order, ok := orders.m[string(ordered)]
	orders.Unlock()
	if ok {
		return order, nil
	}
	if err := json.Unmarshal(ordered, &order); err != nil {
		return nil, err
	}
	orders.Lock()
	if len(orders.m) >= maxOrders || orders.m == nil {
		orders.m = make(map[string]docstore.Permissions, 64)
	}
	orders.m[string(ordered)] = order
	orders.Unlock()
	return order, nil
}
