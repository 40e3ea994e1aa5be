package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/afflake/afflake/engine/config"
)

// write creates files (name → contents) in a fresh working directory.
func write(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for name, src := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const validCUE = `// Accounts pulled by the nightly job.
lake: "s3://example-lake/afflake"

_prod: secrets: token: {aws_secretsmanager: "prod/awin", json_key: "token"}

accounts: awin: [_prod & {
	id:       "189069"
	currency: "EUR"
	timezone: "Europe/London"
	extra: region: "uk"
}, {
	id:       "200001"
	base_url: "http://localhost:8080"
	secrets: token: value: "sandbox-token"
	disabled: true
}]
accounts: impact: [{
	id: "IRabc"
	secrets: {
		sid:   env:  "IMPACT_SID"
		token: file: "secrets/impact_token"
		other: aws_ssm: "/afflake/impact/token"
	}
}]
`

const validJSON = `{
  "lake": "s3://example-lake/afflake",
  "accounts": {
    "awin": [
      {"id": "189069", "currency": "EUR", "timezone": "Europe/London", "extra": {"region": "uk"},
       "secrets": {"token": {"aws_secretsmanager": "prod/awin", "json_key": "token"}}},
      {"id": "200001", "base_url": "http://localhost:8080",
       "secrets": {"token": {"value": "sandbox-token"}}, "disabled": true}
    ],
    "impact": [
      {"id": "IRabc", "secrets": {
        "sid": {"env": "IMPACT_SID"},
        "token": {"file": "secrets/impact_token"},
        "other": {"aws_ssm": "/afflake/impact/token"}}}
    ]
  }
}
`

const validYAML = `lake: s3://example-lake/afflake
accounts:
  awin:
    - id: "189069"
      currency: EUR
      timezone: Europe/London
      extra: {region: uk}
      secrets:
        token: {aws_secretsmanager: prod/awin, json_key: token}
    - id: "200001"
      base_url: http://localhost:8080
      secrets:
        token: {value: sandbox-token}
      disabled: true
  impact:
    - id: IRabc
      secrets:
        sid: {env: IMPACT_SID}
        token: {file: secrets/impact_token}
        other: {aws_ssm: /afflake/impact/token}
`

// wantAccounts is what the valid files hold; dir is the configuration
// file's directory, which relative secret files are read from.
func wantAccounts(dir string) map[string][]config.Account {
	return map[string][]config.Account{
		"awin": {{
			Network:  "awin",
			ID:       "189069",
			Currency: "EUR",
			Timezone: "Europe/London",
			Extra:    map[string]string{"region": "uk"},
			Secrets: map[string]config.SecretRef{
				"token": {AWSSecretsManager: "prod/awin", JSONKey: "token"},
			},
		}, {
			Network:  "awin",
			ID:       "200001",
			BaseURL:  "http://localhost:8080",
			Extra:    map[string]string{},
			Secrets:  map[string]config.SecretRef{"token": {Value: "sandbox-token"}},
			Disabled: true,
		}},
		"impact": {{
			Network: "impact",
			ID:      "IRabc",
			Extra:   map[string]string{},
			Secrets: map[string]config.SecretRef{
				"sid":   {Env: "IMPACT_SID"},
				"token": {File: filepath.Join(dir, "secrets/impact_token")},
				"other": {AWSSSM: "/afflake/impact/token"},
			},
		}},
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name, file, src string
	}{
		{"cue", "afflake.cue", validCUE},
		{"cue in another directory", "deploy/prod.cue", validCUE},
		{"json", "deploy/afflake.json", validJSON},
		{"yaml", "afflake.yaml", validYAML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(t, map[string]string{tt.file: tt.src})
			cfg, errs := config.Load(tt.file)
			if len(errs) > 0 {
				t.Fatalf("Load: %v", errs)
			}
			if cfg.File != tt.file {
				t.Errorf("File: got %q, want %q", cfg.File, tt.file)
			}
			if want := "s3://example-lake/afflake"; cfg.Lake != want {
				t.Errorf("Lake: got %q, want %q", cfg.Lake, want)
			}
			if want := wantAccounts(filepath.Dir(tt.file)); !reflect.DeepEqual(cfg.Accounts, want) {
				t.Errorf("Accounts:\ngot  %+v\nwant %+v", cfg.Accounts, want)
			}
			if got, want := cfg.Networks(), []string{"awin", "impact"}; !reflect.DeepEqual(got, want) {
				t.Errorf("Networks: got %v, want %v", got, want)
			}
			// Specs read the timezone with the extra values.
			if got, want := cfg.Accounts["awin"][0].Vars(), map[string]string{"region": "uk", "timezone": "Europe/London"}; !reflect.DeepEqual(got, want) {
				t.Errorf("Vars: got %v, want %v", got, want)
			}
			if got := cfg.Accounts["impact"][0].Vars(); len(got) != 0 {
				t.Errorf("Vars of an account with neither: got %v", got)
			}
		})
	}
}

func TestLoadDefaultFile(t *testing.T) {
	write(t, map[string]string{config.DefaultFile: "accounts: cj: [{id: \"7\", secrets: token: env: \"CJ_TOKEN\"}]\n"})
	cfg, errs := config.Load("")
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	want := map[string][]config.Account{"cj": {{
		Network: "cj", ID: "7", Extra: map[string]string{},
		Secrets: map[string]config.SecretRef{"token": {Env: "CJ_TOKEN"}},
	}}}
	if !reflect.DeepEqual(cfg.Accounts, want) || cfg.File != config.DefaultFile || cfg.Lake != "" {
		t.Errorf("got %+v (file %q, lake %q), want %+v", cfg.Accounts, cfg.File, cfg.Lake, want)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string // default afflake.cue
		src  string // no file is written when empty
		want []string
	}{{
		name: "unknown account field",
		src: `accounts: awin: [{
	id: "1"
	colour: "blue"
}]
`,
		want: []string{`afflake.cue:3:2: accounts.awin[0].colour: field not allowed`},
	}, {
		name: "unknown top-level field",
		src:  "acounts: awin: []\n",
		want: []string{`afflake.cue:1:1: acounts: field not allowed`},
	}, {
		name: "unknown secret source",
		src:  `accounts: awin: [{id: "1", secrets: token: {envv: "AWIN_TOKEN"}}]` + "\n",
		want: []string{`afflake.cue:1:45: accounts.awin[0].secrets.token.envv: unknown secret source: want one of env, file, aws_secretsmanager, aws_ssm, value (and optionally json_key)`},
	}, {
		name: "two sources",
		src: `accounts: awin: [{
	id: "1"
	secrets: token: {env: "AWIN_TOKEN", aws_ssm: "/awin/token"}
}]
`,
		want: []string{`afflake.cue:3:11: accounts.awin[0].secrets.token: more than one source (env, aws_ssm): set exactly one`},
	}, {
		name: "no source",
		src: `accounts: awin: [{
	id: "1"
	secrets: token: json_key: "token"
}]
`,
		want: []string{`afflake.cue:3:11: accounts.awin[0].secrets.token: no source: set one of env, file, aws_secretsmanager, aws_ssm, value`},
	}, {
		name: "bad currency",
		src: `accounts: awin: [{
	id:       "1"
	currency: "eur"
}]
`,
		want: []string{`afflake.cue:3:2: accounts.awin[0].currency: invalid value "eur" (out of bound =~"^[A-Z]{3}$")`},
	}, {
		name: "missing id, at the account",
		src: `accounts: awin: [{id: "1"},
	{currency: "EUR"}]
`,
		want: []string{`afflake.cue:2:2: accounts.awin[1].id: field is required but not present`},
	}, {
		name: "unknown time zone",
		src:  `accounts: awin: [{id: "1", timezone: "Europe/Lundon"}]` + "\n",
		want: []string{`afflake.cue:1:28: accounts.awin[0].timezone: unknown time zone "Europe/Lundon"`},
	}, {
		name: "time zone set twice",
		src:  `accounts: tune: [{id: "1", timezone: "Europe/Paris", extra: timezone: "UTC"}]` + "\n",
		want: []string{`afflake.cue:1:61: accounts.tune[0].extra.timezone: account.timezone is the account's timezone field: set it there only`},
	}, {
		name: "account listed twice",
		src: `accounts: awin: [{id: "1"},
	{id: "1"}]
`,
		want: []string{`afflake.cue:2:3: accounts.awin[1].id: account "1" is listed twice (first at index 0)`},
	}, {
		name: "bad network name",
		src:  `accounts: "Awin": [{id: "1"}]` + "\n",
		want: []string{`afflake.cue:1:11: accounts.Awin: field not allowed`},
	}, {
		name: "every error at once",
		src: `accounts: awin: [{
	id:       "1"
	currency: "eur"
}, {
	id: "2"
	secrets: a: {env: "A", file: "a"}
	secrets: b: {}
}, {
	timezone: "Mars/Olympus"
}]
lake: 3
`,
		want: []string{
			`afflake.cue:3:2: accounts.awin[0].currency: invalid value "eur" (out of bound =~"^[A-Z]{3}$")`,
			`afflake.cue:6:11: accounts.awin[1].secrets.a: more than one source (env, file): set exactly one`,
			`afflake.cue:7:11: accounts.awin[1].secrets.b: no source: set one of env, file, aws_secretsmanager, aws_ssm, value`,
			`afflake.cue:8:4: accounts.awin[2].id: field is required but not present`,
			`afflake.cue:9:2: accounts.awin[2].timezone: unknown time zone "Mars/Olympus"`,
			`afflake.cue:11:1: lake: conflicting values string and 3 (mismatched types string and int)`,
		},
	}, {
		name: "accounts not a list",
		src:  `accounts: awin: {id: "1"}` + "\n",
		want: []string{`afflake.cue:1:11: accounts.awin: conflicting values {id:"1"} and [...#Account] (mismatched types struct and list)`},
	}, {
		name: "accounts not a struct",
		src:  "accounts: 3\n",
		want: []string{`afflake.cue:1:1: accounts: conflicting values {[#Name]:[...#Account]} and 3 (mismatched types struct and int)`},
	}, {
		name: "an error in the file's own definitions",
		src: `#Base: {currency: "EUR"}
accounts: awin: [#Base & {id: "1"}]
`,
		want: []string{`afflake.cue:2:27: accounts.awin[0].id: field not allowed`},
	}, {
		name: "syntax error",
		src:  "accounts: awin: [{id: \"1\"}\n",
		want: []string{`afflake.cue:1:28: expected ']', found 'EOF'`},
	}, {
		name: "json",
		file: "afflake.json",
		src: `{"accounts": {"awin": [
  {"id": "1", "secrets": {"token": {"env": "A", "value": "x"}}}
]}}`,
		want: []string{`afflake.json:2:28: accounts.awin[0].secrets.token: more than one source (env, value): set exactly one`},
	}, {
		name: "json syntax",
		file: "afflake.json",
		src:  `{"accounts": }`,
		want: []string{`afflake.json:1:14: invalid JSON: invalid character '}' looking for beginning of value`},
	}, {
		name: "missing file",
		want: []string{`afflake.cue: cannot read configuration: no such file or directory`},
	}, {
		name: "unsupported format",
		file: "afflake.toml",
		src:  "x = 1\n",
		want: []string{`afflake.toml: unsupported configuration format ".toml": want .cue, .json, .yaml or .yml`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.file == "" {
				tt.file = "afflake.cue"
			}
			files := map[string]string{}
			if tt.src != "" {
				files[tt.file] = tt.src
			}
			write(t, files)
			cfg, errs := config.Load(tt.file)
			if cfg != nil {
				t.Errorf("got a configuration despite errors")
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestErrorPretty(t *testing.T) {
	write(t, map[string]string{"afflake.cue": "accounts: awin: [{\n\tid: \"1\"\n\tcurrency: \"eur\"\n}]\n"})
	_, errs := config.Load("afflake.cue")
	if len(errs) != 1 {
		t.Fatalf("got %d errors, want 1: %v", len(errs), errs)
	}
	want := "afflake.cue:3:2: accounts.awin[0].currency: invalid value \"eur\" (out of bound =~\"^[A-Z]{3}$\")\n" +
		"    \tcurrency: \"eur\"\n" +
		"    \t^"
	if got := errs[0].Pretty(); got != want {
		t.Errorf("Pretty:\ngot  %q\nwant %q", got, want)
	}
}

func TestCheck(t *testing.T) {
	write(t, map[string]string{"afflake.cue": `accounts: awin: [{id: "1"}]
accounts: awim: [{id: "2"}]
accounts: partnerize: []
`})
	cfg, errs := config.Load("afflake.cue")
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	tests := []struct {
		name  string
		specs map[string]bool
		want  []string
	}{
		{"all known", map[string]bool{"awin": true, "awim": true, "partnerize": true}, nil},
		{"two missing", map[string]bool{"awin": true, "cj": true}, []string{
			`afflake.cue:2:11: accounts.awim: no spec for network "awim" (did you mean "awin"?)`,
			`afflake.cue:3:11: accounts.partnerize: no spec for network "partnerize"`,
		}},
		{"no specs", nil, []string{
			`afflake.cue:1:11: accounts.awin: no spec for network "awin"`,
			`afflake.cue:2:11: accounts.awim: no spec for network "awim"`,
			`afflake.cue:3:11: accounts.partnerize: no spec for network "partnerize"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range cfg.Check(tt.specs) {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSecretRefString(t *testing.T) {
	tests := []struct {
		ref        config.SecretRef
		want, kind string
	}{
		{config.SecretRef{Env: "AWIN_TOKEN"}, "env:AWIN_TOKEN", "env"},
		{config.SecretRef{File: "/run/secrets/cj"}, "file:/run/secrets/cj", "file"},
		{config.SecretRef{AWSSecretsManager: "prod/awin", JSONKey: "token"}, "aws_secretsmanager:prod/awin json_key:token", "aws_secretsmanager"},
		{config.SecretRef{AWSSSM: "/afflake/cj/token"}, "aws_ssm:/afflake/cj/token", "aws_ssm"},
		{config.SecretRef{Value: "hunter2"}, "value:***", "value"},
		{config.SecretRef{Value: `{"token":"hunter2"}`, JSONKey: "token"}, "value:*** json_key:token", "value"},
		{config.SecretRef{}, "none", ""},
	}
	for _, tt := range tests {
		if got := tt.ref.String(); got != tt.want {
			t.Errorf("String: got %q, want %q", got, tt.want)
		}
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "ref", tt.ref, "account", config.Account{Secrets: map[string]config.SecretRef{"t": tt.ref}})
		for _, shown := range []string{tt.ref.String(), fmt.Sprintf("%v %+v %#v %s", tt.ref, tt.ref, tt.ref, tt.ref), logged.String()} {
			if strings.Contains(shown, "hunter2") {
				t.Errorf("%q shows the value", shown)
			}
		}
		if got := tt.ref.Kind(); got != tt.kind {
			t.Errorf("Kind of %q: got %q, want %q", tt.want, got, tt.kind)
		}
	}
}
