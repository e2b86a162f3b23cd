package main

import (
	_ "github.com/apache/arrow/go/v15/parquet/pqarrow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	_ "github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/klauspost/compress/gzip"
)

func main() {}
