// Package config loads a deployment's configuration file: per network,
// the publisher accounts to pull and where each credential comes from.
// The file is CUE (or JSON, or YAML) checked against #Config in
// schemas/config.cue; a Resolver turns each account's secret references
// into values at run time. See docs/config.md.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
	cuejson "cuelang.org/go/encoding/json"
	cueyaml "cuelang.org/go/encoding/yaml"

	"github.com/afflake/afflake/engine/spec"
	"github.com/afflake/afflake/engine/suggest"
)

// DefaultFile is the configuration file read when none is named.
const DefaultFile = "afflake.cue"

// Config is a loaded configuration file.
type Config struct {
	// Accounts lists the accounts of each network, by spec name, in the
	// file's order. Disabled accounts are included.
	Accounts map[string][]Account
	// Lake is the default lake (a directory or s3://bucket/prefix); empty
	// when the file sets none.
	Lake string
	// File is the path the configuration was loaded from.
	File string

	networkPos map[string]token.Pos // where each accounts.<network> is written
}

// Account is one publisher account of a network.
type Account struct {
	Network  string // the spec's name
	ID       string // readable in specs as account.id
	Currency string // for records that carry none; empty when not set
	BaseURL  string // overrides the spec's base_url when set
	// Origins maps other origins the spec calls (token endpoints) to
	// replacements, like BaseURL does for the base URL.
	Origins map[string]string
	// Timezone is an IANA name, empty when not set, readable in specs as
	// account.timezone: the zone of an API whose times carry no offset
	// and depend on the account (an affiliate platform run in each
	// network's own zone).
	Timezone string
	// Extra holds further values, readable in specs as account.<key>.
	Extra map[string]string
	// Secrets are where each secret.<name> comes from.
	Secrets  map[string]SecretRef
	Disabled bool
}

// SecretRef says where one secret comes from: exactly one of Env, File,
// AWSSecretsManager, AWSSSM or Value is set. JSONKey, when set, takes
// one key of a value that is a JSON object.
type SecretRef struct {
	Env               string // an environment variable's name
	File              string // a file's path; relative paths are resolved against the configuration file's directory
	AWSSecretsManager string // a secret id or ARN
	AWSSSM            string // a parameter name or ARN, read with decryption
	JSONKey           string
	Value             string // a literal, for sandboxes and tests
}

// Source kinds, as written in the configuration file.
const (
	SourceEnv            = "env"
	SourceFile           = "file"
	SourceSecretsManager = "aws_secretsmanager"
	SourceSSM            = "aws_ssm"
	SourceValue          = "value"
)

// Kind is the secret's source kind (SourceEnv, …), or "" when none is set.
func (s SecretRef) Kind() string {
	kind, _ := s.source()
	return kind
}

// source returns the kind and the reference (not the value) of the
// first source set.
func (s SecretRef) source() (kind, ref string) {
	switch {
	case s.Env != "":
		return SourceEnv, s.Env
	case s.File != "":
		return SourceFile, s.File
	case s.AWSSecretsManager != "":
		return SourceSecretsManager, s.AWSSecretsManager
	case s.AWSSSM != "":
		return SourceSSM, s.AWSSSM
	case s.Value != "":
		return SourceValue, "***"
	}
	return "", ""
}

// String says where the secret comes from, never what it is:
// "env:API_TOKEN", "aws_secretsmanager:prod/tokens json_key:token",
// "value:***".
func (s SecretRef) String() string {
	kind, ref := s.source()
	if kind == "" {
		return "none"
	}
	out := kind + ":" + ref
	if s.JSONKey != "" {
		out += " json_key:" + s.JSONKey
	}
	return out
}

// GoString is String, so that %#v shows no value either.
func (s SecretRef) GoString() string { return "config.SecretRef(" + s.String() + ")" }

// LogValue is String, so that logging a SecretRef shows no value.
func (s SecretRef) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes String as a JSON string, so that an account
// written out (a log, a manifest) shows no value either.
func (s SecretRef) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Networks returns the names of the networks with accounts, sorted.
func (c *Config) Networks() []string {
	names := make([]string, 0, len(c.Accounts))
	for n := range c.Accounts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Load reads the configuration file at path (DefaultFile when empty):
// a .cue file setting top-level fields (accounts, lake), or a .json,
// .yaml or .yml file with the same fields. It is checked against
// #Config from the embedded schemas. Every error found is returned,
// positioned in the file.
func Load(path string) (*Config, spec.Errors) {
	if path == "" {
		path = DefaultFile
	}
	src, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, spec.Errors{{File: path, Msg: "cannot read configuration: " + err.Error()}}
	}
	ctx := cuecontext.New()
	schema, err := compileSchema(ctx)
	if err != nil {
		return nil, spec.Errors{{Msg: "configuration schema: " + err.Error()}}
	}

	user, errs := build(ctx, path, src)
	if errs != nil {
		return nil, errs
	}
	l := &loader{file: path, user: user}
	return l.load(schema.LookupPath(cue.MakePath(cue.Def("Config"))))
}

// build compiles the user's file on its own, so that positions in it
// are what errors point at.
func build(ctx *cue.Context, path string, src []byte) (cue.Value, spec.Errors) {
	var v cue.Value
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".cue":
		f, err := parser.ParseFile(path, src, parser.ParseComments)
		if err != nil {
			return v, cueErrors(err, path, cue.Value{})
		}
		v = ctx.BuildFile(f)
	case ".json":
		x, err := cuejson.Extract(path, src)
		if err != nil {
			errs := cueErrors(err, path, cue.Value{})
			if u := errors.Unwrap(err); u != nil && len(errs) == 1 {
				errs[0].Msg = "invalid JSON: " + u.Error()
			}
			return v, errs
		}
		v = ctx.BuildExpr(x)
	case ".yaml", ".yml":
		f, err := cueyaml.Extract(path, src)
		if err != nil {
			return v, cueErrors(err, path, cue.Value{})
		}
		v = ctx.BuildFile(f)
	default:
		return v, spec.Errors{{File: path, Msg: fmt.Sprintf("unsupported configuration format %q: want .cue, .json, .yaml or .yml", ext)}}
	}
	if err := v.Err(); err != nil {
		return v, cueErrors(err, path, v)
	}
	return v, nil
}

type loader struct {
	file string
	user cue.Value // the user's file alone: its positions
	errs spec.Errors
}

// accountDoc and secretDoc are the file's shapes; pointers tell a
// source that is set from one that is not.
type accountDoc struct {
	ID       string               `json:"id"`
	Currency string               `json:"currency"`
	BaseURL  string               `json:"base_url"`
	Origins  map[string]string    `json:"origins"`
	Timezone string               `json:"timezone"`
	Extra    map[string]string    `json:"extra"`
	Secrets  map[string]secretDoc `json:"secrets"`
	Disabled bool                 `json:"disabled"`
}

type secretDoc struct {
	Env               *string `json:"env"`
	File              *string `json:"file"`
	AWSSecretsManager *string `json:"aws_secretsmanager"`
	AWSSSM            *string `json:"aws_ssm"`
	JSONKey           *string `json:"json_key"`
	Value             *string `json:"value"`
}

func (l *loader) load(def cue.Value) (*Config, spec.Errors) {
	cfg := &Config{Accounts: map[string][]Account{}, File: l.file, networkPos: map[string]token.Pos{}}
	v := def.Unify(l.user)

	// CUE reports the first kind of error it meets and no more, so the
	// whole file is validated, then each top-level field and each
	// account on its own, to report every error at once.
	if err := v.Validate(cue.Concrete(true)); err != nil {
		l.cue(err)
	}
	top, err := l.user.Fields(cue.Definitions(false), cue.Hidden(false))
	if err != nil {
		l.cue(err)
		return nil, l.result()
	}
	for top.Next() {
		sel := top.Selector()
		if !def.Allows(sel) {
			l.errorAt([]string{sel.Unquoted()}, "field not allowed")
			continue
		}
		if sel.Unquoted() == "accounts" {
			continue // below, account by account
		}
		if err := v.LookupPath(cue.MakePath(sel)).Validate(cue.Concrete(true)); err != nil {
			l.cue(err)
		}
	}
	if lake := v.LookupPath(cue.ParsePath("lake")); lake.Exists() {
		cfg.Lake, _ = lake.String()
	}
	nets, err := l.user.LookupPath(cue.ParsePath("accounts")).Fields()
	if err != nil {
		return nil, l.result() // not a struct: reported above
	}
	allowed := def.LookupPath(cue.ParsePath("accounts"))
	for nets.Next() {
		network := nets.Selector().Unquoted()
		if !allowed.Allows(nets.Selector()) {
			l.errorAt([]string{"accounts", network}, "field not allowed")
			continue
		}
		cfg.networkPos[network] = l.pos([]string{"accounts", network})
		nv := v.LookupPath(cue.MakePath(cue.Str("accounts"), cue.Str(network)))
		list, err := nets.Value().List()
		if err != nil {
			if err := nv.Validate(cue.Concrete(true)); err != nil {
				l.cue(err)
			}
			continue
		}
		accts := []Account{}
		seen := map[string]int{}
		for i := 0; list.Next(); i++ {
			a, ok := l.account(network, i, nv.LookupPath(cue.MakePath(cue.Index(i))))
			if !ok {
				continue
			}
			path := []string{"accounts", network, fmt.Sprint(i)}
			if j, dup := seen[a.ID]; dup {
				l.errorAt(append(path, "id"), fmt.Sprintf("account %q is listed twice (first at index %d)", a.ID, j))
			}
			seen[a.ID] = i
			accts = append(accts, a)
		}
		cfg.Accounts[network] = accts
	}
	if errs := l.result(); len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// account validates and decodes one account, at accounts.<network>[i].
func (l *loader) account(network string, i int, v cue.Value) (Account, bool) {
	path := []string{"accounts", network, fmt.Sprint(i)}
	ok := true
	if err := v.Validate(cue.Concrete(true)); err != nil {
		l.cue(err)
		ok = false
	}
	// The sources are counted even when another field is wrong.
	secrets := map[string]SecretRef{}
	if it, err := v.LookupPath(cue.ParsePath("secrets")).Fields(); err == nil {
		for it.Next() {
			name := it.Selector().Unquoted()
			var d secretDoc
			if err := it.Value().Decode(&d); err != nil {
				ok = false
				continue // reported by Validate
			}
			ref, good := l.secret(append(path, "secrets", name), d)
			ok = ok && good
			secrets[name] = ref
		}
	}
	if tz, err := v.LookupPath(cue.ParsePath("timezone")).String(); err == nil && tz != "" {
		if _, err := time.LoadLocation(tz); err != nil {
			l.errorAt(append(path, "timezone"), fmt.Sprintf("unknown time zone %q", tz))
			ok = false
		}
		if v.LookupPath(cue.ParsePath("extra.timezone")).Exists() {
			l.errorAt(append(path, "extra", "timezone"), "account.timezone is the account's timezone field: set it there only")
			ok = false
		}
	}
	if !ok {
		return Account{}, false
	}
	var d accountDoc
	if err := v.Decode(&d); err != nil {
		l.cue(err)
		return Account{}, false
	}
	if d.Extra == nil {
		d.Extra = map[string]string{}
	}
	return Account{
		Network:  network,
		ID:       d.ID,
		Currency: d.Currency,
		BaseURL:  d.BaseURL,
		Origins:  nilIfEmpty(d.Origins),
		Timezone: d.Timezone,
		Extra:    d.Extra,
		Secrets:  secrets,
		Disabled: d.Disabled,
	}, true
}

// Vars are the values specs read as account.<key>, besides id and
// currency: Extra, and timezone when it is set.
func (a Account) Vars() map[string]string {
	out := make(map[string]string, len(a.Extra)+1)
	for k, v := range a.Extra {
		out[k] = v
	}
	if a.Timezone != "" {
		out["timezone"] = a.Timezone
	}
	return out
}

// secret checks that a secret names exactly one source.
func (l *loader) secret(path []string, d secretDoc) (SecretRef, bool) {
	var set []string
	str := func(kind string, p *string) string {
		if p == nil {
			return ""
		}
		set = append(set, kind)
		return *p
	}
	ref := SecretRef{
		Env:               str(SourceEnv, d.Env),
		File:              str(SourceFile, d.File),
		AWSSecretsManager: str(SourceSecretsManager, d.AWSSecretsManager),
		AWSSSM:            str(SourceSSM, d.AWSSSM),
		Value:             str(SourceValue, d.Value),
	}
	if d.JSONKey != nil {
		ref.JSONKey = *d.JSONKey
	}
	switch len(set) {
	case 1:
	case 0:
		l.errorAt(path, "no source: set one of env, file, aws_secretsmanager, aws_ssm, value")
		return ref, false
	default:
		l.errorAt(path, fmt.Sprintf("more than one source (%s): set exactly one", strings.Join(set, ", ")))
		return ref, false
	}
	if ref.File != "" && !filepath.IsAbs(ref.File) {
		ref.File = filepath.Join(filepath.Dir(l.file), ref.File)
	}
	return ref, true
}

// Check reports the networks that have accounts but no spec; specs
// holds the names of the specs loaded.
func (c *Config) Check(specs map[string]bool) spec.Errors {
	var errs spec.Errors
	known := make([]string, 0, len(specs))
	for n, ok := range specs {
		if ok {
			known = append(known, n)
		}
	}
	sort.Strings(known)
	for _, network := range c.Networks() {
		if specs[network] {
			continue
		}
		msg := fmt.Sprintf("no spec for network %q", network)
		if s := suggest.Closest(network, known, false); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		e := &spec.Error{File: c.File, Path: "accounts." + network, Msg: msg}
		if p := c.networkPos[network]; p.IsValid() {
			e.Line, e.Col = p.Line(), p.Column()
		}
		errs = append(errs, e)
	}
	return errs.Sort()
}

// result is the errors found, in file order. The file is validated as
// a whole and in parts, so CUE may word one error twice (its operands
// in either order): one error per place is kept.
func (l *loader) result() spec.Errors {
	errs := l.errs.Sort()
	out := errs[:0]
	for _, e := range errs {
		if n := len(out); n > 0 && e.Line > 0 {
			p := out[n-1]
			if p.File == e.File && p.Line == e.Line && p.Col == e.Col && p.Path == e.Path {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

func (l *loader) cue(err error) {
	l.errs = append(l.errs, cueErrors(err, l.file, l.user)...)
}

// errorAt records an error at the place of path in the user's file.
func (l *loader) errorAt(path []string, msg string) {
	e := &spec.Error{File: l.file, Path: render(l.user, path), Msg: msg}
	if p := l.pos(path); p.IsValid() {
		e.Line, e.Col = p.Line(), p.Column()
	}
	l.errs = append(l.errs, e)
}

func (l *loader) pos(path []string) token.Pos {
	return userPos(l.user, path, l.file)
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
