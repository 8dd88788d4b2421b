package auth

import (
	"fmt"
	"os"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// LoadKeySet reads a JWKS file; a Verifier with this set requires signed tokens.
func LoadKeySet(path string) (jwk.Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read JWKS: %w", err)
	}
	set, err := jwk.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("auth: parse JWKS %s: %w", path, err)
	}
	if set.Len() == 0 {
		return nil, fmt.Errorf("auth: JWKS %s holds no keys", path)
	}
	return set, nil
}
