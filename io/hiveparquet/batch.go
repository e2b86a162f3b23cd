package hiveparquet

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// Batch is the element that flows into the sink: a record batch of rows of
// one table, all in one partition (and, in idempotent-append mode, all from
// one input). The receiver of a Batch owns one reference to Record and must
// Release it.
type Batch struct {
	// Table is the table name (Table.Name).
	Table string
	// Partition is the escaped Hive partition path, see PartitionPath.
	Partition string
	// Source identifies the input the rows came from; the idempotent-append
	// mode derives output file names from it. Empty in overwrite mode.
	Source string
	// Record holds the rows, with the table's data schema.
	Record arrow.Record
}

func init() {
	beam.RegisterCoder(reflect.TypeOf((*Batch)(nil)).Elem(), encodeBatch, decodeBatch)
}

// encodeBatch serialises a batch as three length-prefixed strings followed by
// the record as an Arrow IPC stream. Beam only calls it where a batch crosses
// a stage boundary (fused stages pass batches by reference).
func encodeBatch(b Batch) ([]byte, error) {
	var buf bytes.Buffer
	for _, s := range []string{b.Table, b.Partition, b.Source} {
		var n [binary.MaxVarintLen64]byte
		buf.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		buf.WriteString(s)
	}
	if b.Record == nil {
		return nil, fmt.Errorf("encode batch of %s/%s: nil record", b.Table, b.Partition)
	}
	w := ipc.NewWriter(&buf, ipc.WithSchema(b.Record.Schema()))
	if err := w.Write(b.Record); err != nil {
		return nil, fmt.Errorf("encode batch of %s/%s: %w", b.Table, b.Partition, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode batch of %s/%s: %w", b.Table, b.Partition, err)
	}
	return buf.Bytes(), nil
}

func decodeBatch(data []byte) (Batch, error) {
	r := bytes.NewReader(data)
	var strs [3]string
	for i := range strs {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > uint64(r.Len()) {
			return Batch{}, fmt.Errorf("decode batch: bad header")
		}
		s := make([]byte, n)
		r.Read(s)
		strs[i] = string(s)
	}
	rd, err := ipc.NewReader(r, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return Batch{}, fmt.Errorf("decode batch of %s/%s: %w", strs[0], strs[1], err)
	}
	defer rd.Release()
	if !rd.Next() {
		if err := rd.Err(); err != nil {
			return Batch{}, fmt.Errorf("decode batch of %s/%s: %w", strs[0], strs[1], err)
		}
		return Batch{}, fmt.Errorf("decode batch of %s/%s: no record", strs[0], strs[1])
	}
	rec := rd.Record()
	rec.Retain()
	return Batch{Table: strs[0], Partition: strs[1], Source: strs[2], Record: rec}, nil
}
