package docstore

import (
	"crypto/rand"

	"github.com/google/uuid"
)

// nameAlphabet is what Kinto's NameGenerator draws bucket, collection and
// group ids from: an alphanumeric first character, then alphanumerics,
// '-' and '_'.
const nameAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

// newID generates the id of a POSTed object: a UUID4 for records, an
// 8-character name for the other kinds (Kinto's NameGenerator).
func newID(kind string) string {
	if kind == KindRecord {
		return uuid.NewString()
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		n := len(nameAlphabet)
		if i == 0 {
			n -= 2
		}
		b[i] = nameAlphabet[int(b[i])%n]
	}
	return string(b)
}
