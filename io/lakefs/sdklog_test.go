package lakefs

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/smithy-go/logging"
)

// TestSDKLogThroughSlog: the AWS SDK's messages (its IMDSv1 fallback
// warning) go through slog, so --log-format=json stays one JSON object per
// line.
func TestSDKLogThroughSlog(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	sdkLogger.Logf(logging.Warn, "falling back to IMDSv1: %s", "operation error ec2imds: GetToken")
	sdkLogger.Logf(logging.Debug, "not shown at Info")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var rec map[string]any
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &rec) != nil || rec["level"] != "WARN" || !strings.Contains(rec["msg"].(string), "IMDSv1") {
		t.Errorf("log %q", buf.String())
	}
}
