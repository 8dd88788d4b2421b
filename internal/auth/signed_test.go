package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

var (
	rsaOnce          sync.Once
	rsaKeyA, rsaKeyB *rsa.PrivateKey
)

// rsaKeys returns two RSA keys shared by the tests (generation is slow).
func rsaKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	rsaOnce.Do(func() {
		var err error
		if rsaKeyA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rsaKeyB, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaKeyA, rsaKeyB
}

// privateJWK wraps raw as a jwk.Key with optional kid and alg.
func privateJWK(t testing.TB, raw any, kid string, alg jwa.SignatureAlgorithm) jwk.Key {
	t.Helper()
	k, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		if err := k.Set(jwk.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
	}
	if alg != "" {
		if err := k.Set(jwk.AlgorithmKey, alg); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// jwks builds a public key set from private keys.
func jwks(t testing.TB, keys ...jwk.Key) jwk.Set {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := jwk.PublicKeyOf(k)
		if err != nil {
			t.Fatal(err)
		}
		if err := set.AddKey(pub); err != nil {
			t.Fatal(err)
		}
	}
	return set
}

func mintSigned(t testing.TB, key jwk.Key) string {
	t.Helper()
	tok, err := MintSigned(DefaultTestIdentity(), gpconnect.ScopeOrgRead, testNow.Add(-2*time.Second), key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signRaw signs the default payload with extra protected headers.
func signRaw(t testing.TB, alg jwa.SignatureAlgorithm, key any, hdr map[string]any) string {
	t.Helper()
	h := jws.NewHeaders()
	for k, v := range hdr {
		if err := h.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := jws.Sign(marshal(t, defaultPayload(t)), jws.WithKey(alg, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

func TestVerifySigned(t *testing.T) {
	rawA, rawB := rsaKeys(t)
	keyA := privateJWK(t, rawA, "key-a", jwa.RS256)
	set := jwks(t, keyA)

	ecRaw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecKey := privateJWK(t, ecRaw, "", "") // no kid, no alg: both inferred
	noKidRSA := privateJWK(t, rawA, "", jwa.RS256)

	pubDER, err := x509.MarshalPKIXPublicKey(&rawA.PublicKey)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		rule string
		set  jwk.Set
		auth func(t testing.TB) string
		want gpconnect.SpineCode
	}{
		{"signed RS256 token with kid passes", set, func(t testing.TB) string { return "Bearer " + mintSigned(t, keyA) }, ok},
		{"signed token without kid tries every key", jwks(t, noKidRSA), func(t testing.TB) string { return "Bearer " + mintSigned(t, noKidRSA) }, ok},
		{"ES256 with algorithm inferred from the key", jwks(t, ecKey), func(t testing.TB) string { return "Bearer " + mintSigned(t, ecKey) }, ok},
		{"set with several keys picks by kid", jwks(t, privateJWK(t, rawB, "key-b", jwa.RS256), keyA), func(t testing.TB) string { return "Bearer " + mintSigned(t, keyA) }, ok},
		{"unsigned token refused when keys are configured", set, defaultToken, bad},
		{"token signed by another key with the same kid", set, func(t testing.TB) string {
			return "Bearer " + mintSigned(t, privateJWK(t, rawB, "key-a", jwa.RS256))
		}, bad},
		{"token signed by another key with an unknown kid", set, func(t testing.TB) string {
			return "Bearer " + mintSigned(t, privateJWK(t, rawB, "key-b", jwa.RS256))
		}, bad},
		{"token signed by another key without kid", set, func(t testing.TB) string {
			return "Bearer " + mintSigned(t, privateJWK(t, rawB, "", jwa.RS256))
		}, bad},
		{"tampered payload", set, func(t testing.TB) string {
			parts := strings.Split(mintSigned(t, keyA), ".")
			m := defaultPayload(t)
			m["requested_scope"] = "patient/*.write"
			parts[1] = enc(marshal(t, m))
			return "Bearer " + strings.Join(parts, ".")
		}, bad},
		{"signature stripped", set, func(t testing.TB) string {
			tok := mintSigned(t, keyA)
			return "Bearer " + tok[:strings.LastIndexByte(tok, '.')+1]
		}, bad},
		{"alg none header with a signature", set, rawHeader(`{"alg":"none","typ":"JWT"}`, "c2ln"), bad},
		{"HS256 signed with the RSA public key (alg confusion)", set, func(t testing.TB) string {
			return "Bearer " + signRaw(t, jwa.HS256, pubDER, map[string]any{"kid": "key-a", "typ": "JWT"})
		}, bad},
		{"RS512 header against an RS256 key", set, func(t testing.TB) string {
			return "Bearer " + signRaw(t, jwa.RS512, rawA, map[string]any{"kid": "key-a", "typ": "JWT"})
		}, bad},
		{"unexpected header key jku", set, func(t testing.TB) string {
			return "Bearer " + signRaw(t, jwa.RS256, rawA, map[string]any{"kid": "key-a", "jku": "https://evil.example/jwks"})
		}, bad},
		{"typ other than JWT", set, func(t testing.TB) string {
			return "Bearer " + signRaw(t, jwa.RS256, rawA, map[string]any{"kid": "key-a", "typ": "JOSE"})
		}, bad},
		{"header without typ is accepted", set, func(t testing.TB) string {
			return "Bearer " + signRaw(t, jwa.RS256, rawA, map[string]any{"kid": "key-a"})
		}, ok},
		{"signed token refused when no keys are configured", nil, func(t testing.TB) string { return "Bearer " + mintSigned(t, keyA) }, bad},
		// A signed token is a credential: one dated far ahead would never expire.
		{"signed token with iat years ahead", set, func(t testing.TB) string {
			tok, err := MintSigned(DefaultTestIdentity(), gpconnect.ScopeOrgRead, testNow.Add(3*365*24*time.Hour), keyA)
			if err != nil {
				t.Fatal(err)
			}
			return "Bearer " + tok
		}, bad},
		{"signed token with iat just over ten minutes ahead", set, func(t testing.TB) string {
			tok, err := MintSigned(DefaultTestIdentity(), gpconnect.ScopeOrgRead, testNow.Add(10*time.Minute+time.Second), keyA)
			if err != nil {
				t.Fatal(err)
			}
			return "Bearer " + tok
		}, bad},
		{"signed token with iat ten minutes ahead passes (clock skew)", set, func(t testing.TB) string {
			tok, err := MintSigned(DefaultTestIdentity(), gpconnect.ScopeOrgRead, testNow.Add(10*time.Minute), keyA)
			if err != nil {
				t.Fatal(err)
			}
			return "Bearer " + tok
		}, ok},
		{"claims are still checked on signed tokens", set, func(t testing.TB) string {
			id := DefaultTestIdentity()
			tok, err := MintSigned(id, gpconnect.ScopeOrgRead, testNow.Add(-time.Hour), keyA)
			if err != nil {
				t.Fatal(err)
			}
			return "Bearer " + tok
		}, bad},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			v := &Verifier{Now: fixedClock, KeySet: tc.set}
			h := tc.auth(t)
			c, err := v.Verify(h)
			if got := spineCode(t, err); got != tc.want {
				t.Fatalf("code %q, want %q (%v)", got, tc.want, err)
			}
			if err == nil && (c.OrgODS() != "GPCA0001" || c.Scope != gpconnect.ScopeOrgRead) {
				t.Fatalf("claims %+v", c)
			}
			if err != nil {
				checkNoEcho(t, err.Error(), h)
			}
		})
	}
}

func TestMintSignedErrors(t *testing.T) {
	rawA, _ := rsaKeys(t)
	if _, err := MintSigned(DefaultTestIdentity(), gpconnect.ScopeOrgRead, testNow, nil); err == nil {
		t.Error("nil key accepted")
	}
	pub, err := jwk.FromRaw(&rawA.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MintSigned(DefaultTestIdentity(), gpconnect.ScopeOrgRead, testNow, pub); err == nil {
		t.Error("public key accepted for signing")
	}
	none := privateJWK(t, rawA, "", jwa.NoSignature)
	if _, err := MintSigned(DefaultTestIdentity(), gpconnect.ScopeOrgRead, testNow, none); err == nil {
		t.Error(`"alg":"none" key accepted for signing`)
	}
}

func TestLoadKeySet(t *testing.T) {
	rawA, _ := rsaKeys(t)
	keyA := privateJWK(t, rawA, "key-a", jwa.RS256)
	dir := t.TempDir()
	path := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(path, marshal(t, jwks(t, keyA)), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := LoadKeySet(path)
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Now: fixedClock, KeySet: set}
	if _, err := v.Verify("Bearer " + mintSigned(t, keyA)); err != nil {
		t.Fatalf("signed token refused with a loaded key set: %v", err)
	}
	if _, err := v.Verify(defaultToken(t)); spineCode(t, err) != gpconnect.BadRequest {
		t.Fatalf("unsigned token with a loaded key set: %v", err)
	}

	empty := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(empty, []byte(`{"keys":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{empty, filepath.Join(dir, "missing.json")} {
		if _, err := LoadKeySet(p); err == nil {
			t.Errorf("LoadKeySet(%s) succeeded", filepath.Base(p))
		}
	}
}
