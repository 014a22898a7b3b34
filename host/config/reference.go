package config

import (
	"fmt"
	"strings"
)

// reference renders the settings table and the gunicorn migration table as
// Markdown: the generated part of docs/CONFIG.md (refreshed by
// `go test ./host/config -run TestConfigDoc -update`).
func reference() string {
	var b strings.Builder
	d := Default()
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	code := func(s string) string {
		if s == "" {
			return ""
		}
		return "`" + cell(s) + "`"
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "### %s\n\n", g)
		b.WriteString("| Flag | Environment | Config key | Default | gunicorn | Meaning |\n")
		b.WriteString("|---|---|---|---|---|---|\n")
		for _, s := range settings {
			if s.group != g {
				continue
			}
			flag := "(positional `APP`)"
			if s.where&inFlags != 0 {
				flag = "`--" + s.name + "`"
				if s.metavar != "" {
					flag = "`--" + s.name + " " + s.metavar + "`"
				}
				if s.short != "" {
					flag = "`-" + s.short + "`, " + flag
				}
				for _, a := range s.aliases {
					flag += ", `--" + a + "`"
				}
			}
			env, key, def := "—", "—", ""
			if s.where&inEnv != 0 {
				env = code(s.env())
			}
			if s.where&inFile != 0 {
				key = code(s.key())
				def = s.display(d)
				if def == "" {
					def = strings.Trim(s.format(d), `"`)
				}
				if s.defDoc == "" {
					def = code(def)
				}
				if def == "" || def == "``" {
					def = `""`
				}
			}
			gu := s.gunicorn
			if gu == "" {
				gu = "—"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", flag, env, key, def, cell(gu), cell(s.usage))
		}
		b.WriteString("\n")
	}
	b.WriteString("## gunicorn settings gohost does not have\n\n")
	b.WriteString("gohost rejects these flags, config keys and `GOHOST_*` names with the hint shown.\n\n")
	b.WriteString("| gunicorn | What to do in gohost |\n|---|---|\n")
	for _, r := range gunicornRows() {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], cell(r[1]))
	}
	return b.String()
}
