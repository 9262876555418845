package query

import (
	"encoding/json"
	"math/big"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// timestamp is Kinto's is_valid_timestamp: an integer, or a string of
// digits, optionally between double quotes, in [0, now + 24h). Floats are
// truncated and booleans count as 0 and 1, as Python's int() does.
//
// It returns the value to filter with. Kinto keeps a valid string as it
// is, and its memory backend then ranks it below every number
// (gt_last_modified="5" matches everything); PostgreSQL casts it to an
// integer. The integer is returned here, so both spellings agree. Lists
// (in_last_modified, exclude_last_modified) are never valid, as in Kinto.
func timestamp(value any, nowMillis int64) (any, bool) {
	s, isString := value.(string)
	var i *big.Int
	var ok bool
	if isString {
		ok = timestampText(s)
		if ok {
			i, ok = kinto.PyInt(strings.Trim(s, `"`))
		}
	} else {
		i, ok = pyInt(value)
	}
	if !ok {
		return nil, false
	}
	tomorrow := big.NewInt(nowMillis + 24*3600*1000)
	if i.Sign() < 0 || i.Cmp(tomorrow) >= 0 {
		return nil, false
	}
	if isString {
		return json.Number(i.String()), true
	}
	return value, true
}

// timestampText is Kinto's ^(\d+)$|^("\d+")$ with Python's semantics:
// Unicode digits, and "$" also matching before a final newline.
func timestampText(s string) bool {
	s = strings.TrimSuffix(s, "\n")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		return false
	}
	for _, r := range s {
		if !kinto.IsDecimal(r) {
			return false
		}
	}
	return true
}
