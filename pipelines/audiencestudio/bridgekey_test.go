package audiencestudio

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

func TestParseBKFolder(t *testing.T) {
	const sha = "f660ab912ec121d1b1e928a0bb4bc61b15f5ad44d5efdc4e1c92a25e99b8e44a"
	const kuid = "LIDa_CtQ"
	std := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	raw := func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }
	url := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
	rawURL := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, raw, kuid string
		device          bool
		bk              string
	}{
		// Device level: {bk} is the kuid, whatever it looks like.
		{"kuid", kuid, kuid, true, ""},
		{"IDFA", "6D92078A-8246-4BA4-AE5B-76104861E7DC", "6D92078A-8246-4BA4-AE5B-76104861E7DC", true, ""},
		// The old content guess read these as bridge keys: base64("abcdef"), base64("test").
		{"kuid that is base64 of text", "YWJjZGVm", "YWJjZGVm", true, ""},
		{"short kuid that is base64 of text", "dGVzdA", "dGVzdA", true, ""},

		// Bridge keys, every alphabet and padding.
		{"std padded", std(sha), kuid, false, sha},
		{"std raw", raw(sha), kuid, false, sha},
		{"email", std("someone@example.com"), kuid, false, "someone@example.com"},
		{"url padded", url("a.b+tag@example.co.uk"), kuid, false, "a.b+tag@example.co.uk"},
		{"url raw, non-ASCII", rawURL("José.Müller@example.de"), kuid, false, "José.Müller@example.de"},
		{"std alphabet + and /", std(">>>???"), kuid, false, ">>>???"},
		{"url alphabet - and _", url(">>>???"), kuid, false, ">>>???"},
		// The old guess kept these short keys as kuids.
		{"short key", rawURL("abcdef"), kuid, false, "abcdef"},
		{"3-byte key", std("abc"), kuid, false, "abc"},
		{"kuid beginning with _", "_x14QZg-", "_x14QZg-", true, ""},
		{"inner space", std("cust 42"), kuid, false, "cust 42"},
		{"edge spaces kept", std(" padded "), kuid, false, " padded "},
		{"tab", std("tab\there"), kuid, false, "tab\there"},
		{"trailing newline (echo | base64)", std("someone@example.com\n"), kuid, false, "someone@example.com\n"},
		{"U+FFFD is text", std("bad\uFFFDrune"), kuid, false, "bad\uFFFDrune"},
		// {bk} spanning folders: standard Base64 holding '/', joined with '/'.
		{"several folders", std("???>>>???"), kuid, false, "???>>>???"},
		// A kuid in another device's folder is not the kuid: decoded or not.
		{"other kuid", "Lx14QZg_", kuid, false, ""},

		// Not Base64 of text: bridge_key stays empty.
		{"not base64", "abc!def?", kuid, false, ""},
		{"spaces", "not base64 at all", kuid, false, ""},
		{"binary", std("\x00\x01\x02\x03\x04\x05"), kuid, false, ""},
		{"control char", std("ab\x1bcd"), kuid, false, ""},
		{"DEL", std("ab\x7fcd"), kuid, false, ""},
		{"C1 control", std("ab\u0085cd"), kuid, false, ""},
		{"invalid UTF-8", std("\xff\xfeabc"), kuid, false, ""},
		{"mixed alphabets", "ab+c-def", kuid, false, ""},
		{"bad padding", "QUJD=", kuid, false, ""},
		{"padding inside", "QQ==QUJD", kuid, false, ""},
		{"newline in path", "QUJD\nQUJD", kuid, false, ""},
		{"empty", "", kuid, false, ""},
	}
	for _, tt := range tests {
		got := ParseBKFolder(tt.raw, tt.kuid)
		if got.Raw != tt.raw || got.DeviceLevel != tt.device || got.BridgeKey != tt.bk {
			t.Errorf("%s: ParseBKFolder(%q, %q) = %+v; want device %v, bridge key %q", tt.name, tt.raw, tt.kuid, got, tt.device, tt.bk)
		}
		if got.Undecoded() != (!tt.device && tt.bk == "") {
			t.Errorf("%s: Undecoded() = %v", tt.name, got.Undecoded())
		}
	}
}

// TestDecodeBridgeKeyRoundTrip: every text key comes back from every
// encoding, whatever its length.
func TestDecodeBridgeKeyRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		key := make([]rune, 1+rng.IntN(60))
		for j := range key {
			if rng.IntN(4) == 0 {
				key[j] = rune(0xa0 + rng.IntN(0x2000))
			} else {
				key[j] = rune(0x20 + rng.IntN(0x7f-0x20))
			}
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			seg := enc.EncodeToString([]byte(string(key)))
			if bk, ok := DecodeBridgeKey(seg); !ok || bk != string(key) {
				t.Fatalf("DecodeBridgeKey(%q) = %q, %v; want %q", seg, bk, ok, string(key))
			}
		}
	}
}
