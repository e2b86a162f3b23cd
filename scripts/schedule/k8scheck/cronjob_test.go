// Package k8scheck checks scripts/schedule/cronjob.yaml against the
// Kubernetes API types: a separate module, so that k8s.io/api stays out of
// vendorlake's own go.mod. scripts/test.sh runs it.
package k8scheck

import (
	"os"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

// TestCronJobManifest decodes the manifest strictly into batch/v1 CronJob
// (an unknown or misplaced field fails) and checks what the README promises:
// no overlapping runs, no retries by Kubernetes (the lock and the next tick
// do that), S3 credentials from the pod's role, not from keys.
func TestCronJobManifest(t *testing.T) {
	raw, err := os.ReadFile("../cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cj batchv1.CronJob
	if err := yaml.UnmarshalStrict(raw, &cj); err != nil {
		t.Fatalf("cronjob.yaml is not a strict batch/v1 CronJob: %v", err)
	}
	if cj.APIVersion != "batch/v1" || cj.Kind != "CronJob" {
		t.Errorf("apiVersion %q, kind %q", cj.APIVersion, cj.Kind)
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	if cj.Spec.Schedule != "*/5 * * * *" {
		t.Errorf("schedule %q, want every 5 minutes (ID5's recommendation)", cj.Spec.Schedule)
	}
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	if pod.ServiceAccountName == "" {
		t.Error("no service account: S3 credentials are to come from the pod's role")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "id5" {
		t.Errorf("args %q, want the id5 command", c.Args)
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "AWS_ACCESS_KEY") || strings.HasPrefix(e.Name, "AWS_SECRET") || strings.HasPrefix(e.Name, "AWS_SESSION") {
			t.Errorf("credentials in the manifest: %s", e.Name)
		}
	}
	if len(c.EnvFrom) > 0 {
		t.Errorf("envFrom %v: credentials must come from the role, not a secret", c.EnvFrom)
	}
}

// TestStrictDecodingRefusesUnknownFields: the check above would catch a
// misspelt field (concurrencyPolicy under the wrong key, say).
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	bad := "apiVersion: batch/v1\nkind: CronJob\nspec:\n  schedule: '*/5 * * * *'\n  concurencyPolicy: Forbid\n"
	var cj batchv1.CronJob
	if err := yaml.UnmarshalStrict([]byte(bad), &cj); err == nil {
		t.Error("a misspelt field decoded without error")
	}
}
