package transforms

import (
	"fmt"
	"testing"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/ledger"
)

func TestSumAttachmentsAndHoldBack(t *testing.T) {
	proofTables := []string{"proofs", "proof_files"}
	stats := []FileStats{
		{Rel: "a/users.json.gz", Unit: "a", Partition: "p=a", RecordsIn: 100, RecordsOut: 100},
		{Rel: "a/proofs.tar.gz", Unit: "a", Partition: "p=a", RecordsIn: 10, RecordsOut: 8, Rejected: 2,
			RejectsByReason: []Count{{Name: "bad_name", N: 2}}, AttachmentKind: "proofs", AttachmentTables: proofTables},
		{Rel: "b/proofs.tar.gz", Unit: "b", Partition: "p=b", RecordsIn: 100, RecordsOut: 100, AttachmentKind: "proofs", AttachmentTables: proofTables},
		{Rel: "c/proofs.tar.gz", Unit: "c", Partition: "p=c", AttachmentKind: "proofs", AttachmentTables: proofTables},
	}
	cases := []struct {
		bound    float64
		wantHeld string
	}{
		{0.5, "[]"},
		{0.2, "[]"}, // exactly at the bound still commits
		{0.19, "[p=a]"},
		{0, "[p=a]"}, // an empty archive is never over bound
	}
	for _, c := range cases {
		att := sumAttachments(stats, c.bound)
		var held []string
		for _, h := range att.HeldBack {
			held = append(held, h.Partition)
		}
		if fmt.Sprint(held) != c.wantHeld || att.EntriesIn != 110 || att.Rejected != 2 || att.Files != 3 {
			t.Errorf("bound %g: held %v (want %s), totals %+v", c.bound, held, c.wantHeld, att)
		}
	}
	if sumAttachments(stats[:1], 0) != nil {
		t.Error("no attachment inputs: want no attachment totals")
	}

	att := sumAttachments(stats, 0.01)
	files := []hiveparquet.FileDesc{
		{Table: "users", Partition: "p=a"}, {Table: "proofs", Partition: "p=a"}, {Table: "proof_files", Partition: "p=a", Name: "x.pdf"},
		{Table: "proofs", Partition: "p=b"}, {Table: "rejects", Partition: "p=a"},
	}
	claims := []hiveparquet.Claim{{Table: "users", Partition: "p=a"}, {Table: "proofs", Partition: "p=a"}, {Table: "proof_files", Partition: "p=a"},
		{Table: "proofs", Partition: "p=b"}, {Table: "rejects", Partition: "p=a"}}
	units := []Unit{
		{Key: "a", Inputs: []ledger.Input{{Rel: "a/users.json.gz"}, {Rel: "a/proofs.tar.gz.00"}, {Rel: "a/proofs.tar.gz.01"}}},
		{Key: "b", Inputs: []ledger.Input{{Rel: "b/proofs.tar.gz"}}},
	}
	f, cl, u := holdBack(att.HeldBack, stats, files, claims, units)
	if got := fmt.Sprint(f); got != fmt.Sprint([]hiveparquet.FileDesc{files[0], files[3], files[4]}) {
		t.Errorf("files %v", got)
	}
	if got := fmt.Sprint(cl); got != fmt.Sprint([]hiveparquet.Claim{claims[0], claims[3], claims[4]}) {
		t.Errorf("claims %v", got)
	}
	if got := fmt.Sprint(u); got != fmt.Sprint([]Unit{{Key: "a", Inputs: []ledger.Input{{Rel: "a/users.json.gz"}}}, units[1]}) {
		t.Errorf("units %v: the held-back archive's parts must leave the ledger entry", got)
	}
}
