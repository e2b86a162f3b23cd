package main

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/pipelines/registry"
)

// checkInvocation parses args (a vendorlake command line, without the
// program) as the command would, without running it: the command and its
// flags must exist and pass validation.
func checkInvocation(t *testing.T, where string, args []string) {
	t.Helper()
	for _, v := range registry.All() {
		words := v.CommandLine()
		if len(args) < len(words) || strings.Join(args[:len(words)], " ") != strings.Join(words, " ") {
			continue
		}
		resetBeamFlags()
		c := pipelineCommand{vendor: v.Flags()}
		var out strings.Builder
		con := console{stdout: &out, stderr: &out}
		if err := parseFlags(strings.Join(words, " "), args[len(words):], con, &c.common, c.vendor.Register, v.Help); err != nil {
			t.Errorf("%s: %v", where, err)
			return
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", where, c.envHint(err))
		}
		return
	}
	t.Errorf("%s: no vendorlake command %q", where, args)
}

// TestScheduleExamples keeps the schedule examples of the README
// (scripts/schedule/) valid vendorlake invocations: the crontab's lines
// with its variables, the CronJob's args and env, the Airflow DAG's
// commands.
func TestScheduleExamples(t *testing.T) {
	f, err := os.Open("scripts/schedule/crontab")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && !strings.Contains(k, " ") {
			t.Setenv(k, v)
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 7 || fields[5] != "vendorlake" {
			t.Errorf("crontab line %q: want 5 time fields then vendorlake", line)
			continue
		}
		var args []string
		for _, a := range fields[6:] {
			if strings.HasPrefix(a, ">") || strings.HasPrefix(a, "2>") {
				break
			}
			args = append(args, a)
		}
		checkInvocation(t, "crontab: "+line, args)
		lines++
	}
	if lines != 4 {
		t.Errorf("crontab: %d vendorlake lines, want 4 (didomi, audiencestudio requests and portability, id5)", lines)
	}

	// The CronJob: its args with its env (a fieldRef stands for a label).
	data, err := os.ReadFile("scripts/schedule/cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := string(data)
	for _, want := range []string{"concurrencyPolicy: Forbid", `schedule: "*/5 * * * *"`, "serviceAccountName:"} {
		if !strings.Contains(y, want) {
			t.Errorf("cronjob.yaml lacks %q", want)
		}
	}
	if strings.Contains(y, "AWS_ACCESS_KEY_ID") || strings.Contains(y, "AWS_SECRET_ACCESS_KEY") {
		t.Error("cronjob.yaml holds S3 keys: credentials come from the pod's role")
	}
	t.Setenv("VENDORLAKE_OUTPUT", "") // the crontab's; the CronJob sets its own
	for _, m := range regexp.MustCompile(`- name: (VENDORLAKE_\w+)\n\s+value: (\S+)`).FindAllStringSubmatch(y, -1) {
		t.Setenv(m[1], m[2])
	}
	var args []string
	if m := regexp.MustCompile(`args: (\[.*\])`).FindStringSubmatch(y); m == nil || json.Unmarshal([]byte(m[1]), &args) != nil {
		t.Fatal("cronjob.yaml: no args: [...] line")
	}
	checkInvocation(t, "cronjob.yaml", args)

	// The Airflow DAG's commands.
	data, err = os.ReadFile("scripts/schedule/vendorlake_dag.py")
	if err != nil {
		t.Fatal(err)
	}
	cmds := regexp.MustCompile(`"\w+": (\["\w+", [^\]]*\])`).FindAllStringSubmatch(string(data), -1)
	if len(cmds) == 0 {
		t.Fatal("vendorlake_dag.py: no COMMANDS")
	}
	for _, m := range cmds {
		if err := json.Unmarshal([]byte(m[1]), &args); err != nil {
			t.Fatalf("vendorlake_dag.py: %s: %v", m[1], err)
		}
		checkInvocation(t, "vendorlake_dag.py", append(args, "--summary=json", "--run-id=x"))
	}
}
