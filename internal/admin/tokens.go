package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// tokenPrefix marks Slotbridge admin tokens (so they are recognisable in a leak scan).
const tokenPrefix = "sbadm_"

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a new admin token for one practice and returns it; it is
// shown this once, since only the SHA-256 of its 256-bit random secret is
// kept. The token reads "sbadm_<id>_<secret>": the id finds the record, and
// the secret is compared in constant time. A label holding a control
// character is refused (EINVALID), as a profile name is: a newline in it
// would break the token list into a false row.
func (s *Service) CreateToken(ctx context.Context, a Actor, ods, label string) (string, Token, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return "", Token{}, err
	}
	if label = strings.TrimSpace(label); hasControl(label) {
		return "", Token{}, invalid("the label cannot hold control or invisible formatting characters, or bytes that are not UTF-8 (a newline, a tab or a bidi override, say)")
	} else if tooLong(label, MaxLabel) {
		return "", Token{}, invalid("the label has %d characters; at most %d are allowed", utf8.RuneCountInString(label), MaxLabel)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	t := &scheduling.AdminToken{PracticeID: org.ID, Hash: hashSecret(secret), Label: label, Created: s.Now()}
	rec := s.record(org, a, "token.create", "", nil, map[string]string{"label": t.Label})
	id, err := s.st.CreateAdminToken(ctx, t, *rec)
	if err != nil {
		return "", Token{}, err
	}
	t.ID = id
	return fmt.Sprintf("%s%d_%s", tokenPrefix, id, secret), toToken(t, org.ODS), nil
}

func toToken(t *scheduling.AdminToken, ods string) Token {
	return Token{ID: t.ID, ODS: ods, Label: t.Label, Created: scheduling.FormatLocal(t.Created), Revoked: t.Revoked}
}

// Tokens lists a practice's admin tokens (never their secrets).
func (s *Service) Tokens(ctx context.Context, a Actor, ods string) ([]Token, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return nil, err
	}
	ts, err := s.st.AdminTokens(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(ts))
	for i, t := range ts {
		out[i] = toToken(t, org.ODS)
	}
	return out, nil
}

// RevokeToken revokes one of a practice's tokens; it stops working at once. Returns ENOTFOUND.
func (s *Service) RevokeToken(ctx context.Context, a Actor, ods string, id int64) error {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return err
	}
	return s.st.RevokeAdminToken(ctx, org.ID, id, *s.record(org, a, "token.revoke", "", nil, nil))
}

// Authenticate turns an admin token into the actor it stands for. Every
// failure (malformed, unknown, wrong secret, revoked) is the same
// EUNAUTHORIZED, so a caller learns nothing about which part was wrong.
func (s *Service) Authenticate(ctx context.Context, token string) (Actor, error) {
	deny := scheduling.Errorf(EUNAUTHORIZED, "a valid admin token is required (Authorization: Bearer sbadm_...)")
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok || len(token) > 200 {
		return Actor{}, deny
	}
	idText, secret, ok := strings.Cut(rest, "_")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 || secret == "" {
		return Actor{}, deny
	}
	t, err := s.st.AdminTokenByID(ctx, id)
	if err != nil {
		if scheduling.ErrorCode(err) == scheduling.ENOTFOUND {
			return Actor{}, deny
		}
		return Actor{}, err
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(t.Hash)) != 1 || t.Revoked {
		return Actor{}, deny
	}
	return Actor{Name: "token:" + strconv.FormatInt(t.ID, 10), PracticeID: t.PracticeID}, nil
}
