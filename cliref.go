package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/vendorlake/vendorlake/pipelines/registry"
)

// cliReference is README.md's command-line reference, generated from the
// help's commands and the flag sets the commands parse (TestREADMECLI
// keeps the README's copy equal to it): the commands, the flags every
// pipeline command takes, each pipeline's own flags, then ddl's and
// prune's. A flag's meaning is its usage string, the text of --help too.
func cliReference() string {
	var b strings.Builder
	b.WriteString("| command | what it does |\n|---|---|\n")
	for _, l := range commands() {
		fmt.Fprintf(&b, "| `vendorlake %s` | %s |\n", l.cmd, cell(l.summary))
	}
	// Every flag of these commands may also be set by its environment
	// variable (parseEnv), but those of notFromEnv.
	section := func(title string, register func(*flag.FlagSet)) {
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		register(fs)
		fmt.Fprintf(&b, "\n%s\n\n", title)
		b.WriteString("| flag | default | environment | meaning |\n|---|---|---|---|\n")
		fs.VisitAll(func(f *flag.Flag) {
			def := "`" + f.DefValue + "`"
			if f.DefValue == "" {
				def = "—"
			}
			variable := "`" + envName(f.Name) + "`"
			if notFromEnv[f.Name] {
				variable = "—"
			}
			fmt.Fprintf(&b, "| `--%s` | %s | %s | %s |\n", f.Name, def, variable, cell(f.Usage))
		})
	}
	section("**Every pipeline command** (and `demo`):", (&common{}).register)
	for _, v := range registry.All() {
		section(fmt.Sprintf("**`vendorlake %s`** also takes:", strings.Join(v.CommandLine(), " ")), v.Flags().Register)
	}
	section("**`vendorlake ddl`**:", (&ddlCommand{}).register)
	section("**`vendorlake prune`**:", (&pruneCommand{}).register)
	return b.String()
}

// cell escapes s for a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
