package hiveparquet

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/vendorlake/vendorlake/io/hiveparquet/arrowpatch"
)

// maxEncodeWorkers bounds the goroutines that encode the columns of one row
// group. Every open file already encodes on its own goroutine, so a few
// more per file are enough to keep the cores busy when one file (one
// table, one partition) gets most of the rows.
const maxEncodeWorkers = 4

// writeRowGroups writes tbl as row groups of at most chunkSize rows, like
// pqarrow's FileWriter.WriteTable, but encodes the columns of each row
// group in parallel, on up to min(GOMAXPROCS, maxEncodeWorkers) goroutines.
// WriteTable encodes column after column on one goroutine: encoding
// (levels, dictionaries, statistics, zstd) is most of a pipeline's CPU, and
// a file's row groups were then bound to one core.
//
// Each row group is a buffered one (file.Writer.AppendBufferedRowGroup):
// every column chunk is encoded into its own memory buffer and the chunks
// are appended to the file in schema order, each once it and the columns
// before it are encoded, so the file has the same bytes as WriteTable's
// (TestParallelRowGroupsMatchSequential). The price is memory: at most one
// row group's compressed pages per file being flushed, held until the
// column chunks before them are written.
func writeRowGroups(fw *pqarrow.FileWriter, tbl arrow.Table, chunkSize int64) error {
	return writeRowGroupsN(fw, tbl, chunkSize, min(runtime.GOMAXPROCS(0), maxEncodeWorkers))
}

// writeRowGroupsN is writeRowGroups on at most workers goroutines; with one
// worker, one column, or an Arrow whose FileWriter does not have the
// fields this relies on, it is WriteTable.
func writeRowGroupsN(fw *pqarrow.FileWriter, tbl arrow.Table, chunkSize int64, workers int) error {
	in := arrowpatch.FileWriterFields()
	if workers < 2 || tbl.NumCols() < 2 || tbl.NumRows() == 0 || in.Err != nil {
		return fw.WriteTable(tbl, chunkSize)
	}
	if chunkSize <= 0 {
		return fmt.Errorf("chunk size per row group must be greater than 0")
	}
	if !tbl.Schema().Equal(in.Schema(fw)) {
		return fmt.Errorf("table schema does not match writer's. \nTable: %s\n writer: %s", tbl.Schema(), in.Schema(fw))
	}
	if max := in.Writer(fw).Properties().MaxRowGroupLength(); chunkSize > max {
		chunkSize = max
	}

	// The columns' first leaf (Parquet column) index, and the order they
	// are handed out in: largest first, so that the biggest column starts
	// at once and the small ones fill in around it.
	ncols := int(tbl.NumCols())
	first := make([]int, ncols)
	leaves := 0
	for i := 0; i < ncols; i++ {
		first[i] = leaves
		leaves += leafCount(tbl.Schema().Field(i).Type)
	}
	order := make([]int, ncols)
	size := make([]int64, ncols)
	for i := range order {
		order[i] = i
		for _, c := range tbl.Column(i).Data().Chunks() {
			size[i] += arrayBytes(c.Data())
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return size[order[a]] > size[order[b]] })
	workers = min(workers, ncols)

	for offset := int64(0); offset < tbl.NumRows(); offset += chunkSize {
		n := min(chunkSize, tbl.NumRows()-offset)
		if err := writeRowGroup(fw, in, tbl, offset, n, first, order, leaves, workers); err != nil {
			fw.Close() // as WriteTable does after an error
			return err
		}
	}
	return nil
}

// writeRowGroup writes rows [offset, offset+n) of tbl as one buffered row
// group, its columns encoded on workers goroutines, and closes it.
//
// Closing a column chunk still does work (for a dictionary-encoded column
// most of it: the dictionary page and the one data page of indices are
// built and compressed there) and then appends the chunk to the file, so
// chunks must close in schema order. A worker that finishes a column closes
// every column from the first one not closed yet up to the first one still
// being encoded (closer), so the closing overlaps the encoding of the
// columns that are left instead of following it.
func writeRowGroup(fw *pqarrow.FileWriter, in arrowpatch.FileWriterLayout, tbl arrow.Table, offset, n int64, first, order []int, leaves, workers int) error {
	fw.NewBufferedRowGroup()
	rgw := in.RowGroup(fw)
	if rgw.NumColumns() != leaves {
		return fmt.Errorf("row group has %d columns, the table's schema %d", rgw.NumColumns(), leaves)
	}
	errs := make([]error, len(order))
	c := &closer{rgw: rgw, first: first, leaves: leaves, done: make([]atomic.Bool, len(order)), errs: errs}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A copy of the FileWriter per worker: the same file writer,
			// schema manifest and row group, its own column index and its
			// own Arrow write context (scratch buffers for levels and
			// values, which must not be shared between goroutines).
			cw := *fw
			*in.Ctx(&cw) = pqarrow.NewArrowWriteContext(context.Background(), in.ArrowProps(fw))
			for {
				k := int(next.Add(1)) - 1
				if k >= len(order) {
					return
				}
				i := order[k]
				*in.ColIdx(&cw) = first[i]
				errs[i] = writeColumn(&cw, tbl, i, offset, n)
				c.encoded(i)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			// Mark the row group closed (its columns disagree on their row
			// counts, so this fails) for FileWriter.Close to still write
			// the footer and close the file.
			rgw.Close()
			return fmt.Errorf("column %s: %w", tbl.Schema().Field(i).Name, err)
		}
	}
	// Close the row group now (its column chunks are all written), which
	// finishes its metadata, instead of at the next row group or at Close.
	// Arrow would also drop this error (NewBufferedRowGroup ignores the one
	// of the row group it closes).
	return rgw.Close()
}

// closer closes the column chunks of a buffered row group in schema order,
// each as soon as it and all before it are encoded, on whichever worker
// finds it so. At most one worker closes at a time (mu); done is set before
// mu is tried and checked again after mu is released, so no column is left
// open when its encoder's TryLock fails.
type closer struct {
	rgw    file.BufferedRowGroupWriter
	first  []int // the columns' first leaf index
	leaves int
	done   []atomic.Bool // column encoded
	errs   []error       // per column; an encoder's, or then its Close's
	mu     sync.Mutex
	next   atomic.Int64 // the first column not closed yet
}

// encoded records that column i is encoded and closes what can be closed.
func (c *closer) encoded(i int) {
	c.done[i].Store(true)
	for c.ready() && c.mu.TryLock() {
		for c.ready() {
			j := int(c.next.Load())
			if c.errs[j] == nil {
				c.errs[j] = c.closeColumn(j)
			}
			c.next.Add(1)
			if c.errs[j] != nil {
				// Leave the rest open: the row group fails anyway.
				c.next.Store(int64(len(c.done)))
			}
		}
		c.mu.Unlock()
	}
}

// ready reports whether the next column to close is encoded.
func (c *closer) ready() bool {
	j := int(c.next.Load())
	return j < len(c.done) && c.done[j].Load()
}

// closeColumn closes the leaf column chunks of column j, which writes them
// to the file; like writeColumn, it turns a panic into an error.
func (c *closer) closeColumn(j int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("encoder panic: %v\n%s", p, debug.Stack())
		}
	}()
	end := c.leaves
	if j+1 < len(c.first) {
		end = c.first[j+1]
	}
	for leaf := c.first[j]; leaf < end; leaf++ {
		cw, err := c.rgw.Column(leaf)
		if err != nil {
			return err
		}
		if err := cw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// writeColumn writes rows [offset, offset+n) of column i of tbl through cw,
// turning a panic of the encoder into an error, so that one bad column
// fails its file instead of the process.
func writeColumn(cw *pqarrow.FileWriter, tbl arrow.Table, i int, offset, n int64) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("encoder panic: %v\n%s", p, debug.Stack())
		}
	}()
	return cw.WriteColumnChunked(tbl.Column(i).Data(), offset, n)
}

// leafCount is the number of Parquet (leaf) columns of an Arrow type, as
// pqarrow counts them (calcLeafCount in pqarrow/encode_arrow.go).
func leafCount(dt arrow.DataType) int {
	switch dt := dt.(type) {
	case arrow.ExtensionType:
		return leafCount(dt.StorageType())
	case arrow.NestedType:
		n := 0
		for _, f := range dt.Fields() {
			n += leafCount(f.Type)
		}
		return n
	case *arrow.DictionaryType:
		return leafCount(dt.ValueType)
	default:
		return 1
	}
}
