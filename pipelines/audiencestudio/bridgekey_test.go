package audiencestudio

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

func TestDecodeBKPath(t *testing.T) {
	const sha = "f660ab912ec121d1b1e928a0bb4bc61b15f5ad44d5efdc4e1c92a25e99b8e44a"
	std := base64.StdEncoding.EncodeToString
	raw := base64.RawStdEncoding.EncodeToString
	url := base64.URLEncoding.EncodeToString
	rawURL := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		seg, bk, kuid string
	}{
		// Bridge keys, every alphabet and padding.
		{std([]byte(sha)), sha, ""},
		{raw([]byte(sha)), sha, ""},
		{std([]byte("someone@example.com")), "someone@example.com", ""},
		{raw([]byte("someone@example.com")), "someone@example.com", ""},
		{url([]byte("a.b+tag@example.co.uk")), "a.b+tag@example.co.uk", ""},
		{rawURL([]byte("José.Müller@example.de")), "José.Müller@example.de", ""},
		{std([]byte(">>>???")), ">>>???", ""},              // standard alphabet with '+' and '/'
		{url([]byte(">>>???>>>")), ">>>???>>>", ""},        // URL-safe alphabet with '-' and '_'
		{url([]byte(">>>???")), "", url([]byte(">>>???"))}, // ... but 8 kuid-alphabet characters stay a kuid
		{std([]byte("cust 42")), "cust 42", ""},            // inner space is printable
		{std([]byte("+14155550123")), "+14155550123", ""},
		{std([]byte("1234")), "1234", ""}, // 8 chars with padding '=' is not the kuid alphabet
		{"c29tZW9uZUBleGFtcGxlLmNvbQ==", "someone@example.com", ""},

		// kuids from the vendor examples stay kuids.
		{"LIDa_CtQ", "", "LIDa_CtQ"},
		{"Lx14QZg_", "", "Lx14QZg_"},
		{"LsUGEPR-", "", "LsUGEPR-"},
		{"Lx14Qph3", "", "Lx14Qph3"},
		{"LudgMNz6", "", "LudgMNz6"},
		{"Lx14asGr", "", "Lx14asGr"},
		{"Lx14Qe8U", "", "Lx14Qe8U"},
		{"Lq5fbRVM", "", "Lq5fbRVM"},
		// Short segments that decode to printable bytes still read as kuids.
		{"YWJjZGVm", "", "YWJjZGVm"}, // base64("abcdef")
		{"dGVzdA", "", "dGVzdA"},     // base64("test")
		// Device IDs.
		{"6D92078A-8246-4BA4-AE5B-76104861E7DC", "", "6D92078A-8246-4BA4-AE5B-76104861E7DC"},
		{"38400000-8cf0-11bd-b23e-10b96e40000d", "", "38400000-8cf0-11bd-b23e-10b96e40000d"},
		{"0f1123fdd8ae50c0a65a358c25242efe", "", "0f1123fdd8ae50c0a65a358c25242efe"},
		{"B89297C2-6C4E-4355-8376-7D5883FAFF67", "", "B89297C2-6C4E-4355-8376-7D5883FAFF67"},
		// Not base64, or base64 of bytes that are not printable text.
		{"abc!def?", "", "abc!def?"},
		{"not base64 at all", "", "not base64 at all"},
		{std([]byte{0, 1, 2, 3, 4, 5, 6, 7}), "", std([]byte{0, 1, 2, 3, 4, 5, 6, 7})},
		{std([]byte("tab\there")), "", std([]byte("tab\there"))},
		{std([]byte("line\n")), "", std([]byte("line\n"))},
		{std([]byte(" padded ")), "", std([]byte(" padded "))},
		{std([]byte("\xff\xfeabc")), "", std([]byte("\xff\xfeabc"))},
		{std([]byte("bad\uFFFDrune")), "", std([]byte("bad\uFFFDrune"))},
		{std([]byte("abc")), "", std([]byte("abc"))}, // too short a key
		{"QUJD=", "", "QUJD="},                       // bad padding
		{"QUJDRB==", "", "QUJDRB=="},                 // non-zero padding bits
		{"", "", ""},
	}
	for _, tt := range tests {
		bk, kuid := DecodeBKPath(tt.seg)
		if bk != tt.bk || kuid != tt.kuid {
			t.Errorf("DecodeBKPath(%q) = %q, %q; want %q, %q", tt.seg, bk, kuid, tt.bk, tt.kuid)
		}
	}
}

// TestDecodeBKPathRandomKUIDs checks that random IDs in the kuid alphabet
// of common lengths are not mistaken for bridge keys, and that bridge keys
// always round-trip.
func TestDecodeBKPathRandomKUIDs(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	rng := rand.New(rand.NewPCG(1, 2))
	mistaken := 0
	for i := 0; i < 100000; i++ {
		n := []int{8, 8, 8, 12, 16, 22, 24, 32}[rng.IntN(8)]
		b := make([]byte, n)
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		if bk, _ := DecodeBKPath(string(b)); bk != "" {
			mistaken++
		}
	}
	// Only 12-character IDs can decode to 9 printable ASCII bytes by chance
	// (about 2e-4 of them); longer ones practically never.
	if mistaken > 10 {
		t.Errorf("%d of 100000 random kuids read as bridge keys", mistaken)
	}
	for i := 0; i < 1000; i++ {
		key := make([]byte, 4+rng.IntN(60))
		for j := range key {
			key[j] = byte(0x21 + rng.IntN(0x7e-0x21))
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			seg := enc.EncodeToString(key)
			if len(seg) <= 8 && isKUIDAlphabet(seg) {
				continue // the documented short-segment guard
			}
			if bk, _ := DecodeBKPath(seg); bk != string(key) {
				t.Fatalf("DecodeBKPath(%q) = %q, want %q", seg, bk, key)
			}
		}
	}
}
