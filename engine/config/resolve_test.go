package config_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/afflake/afflake/engine/config"
)

// Values that must never appear in an error.
const (
	envSecret  = "env-s3cr3t-1"
	fileSecret = "file-s3cr3t-2"
	notJSON    = "plain-s3cr3t-3"
)

var secretValues = []string{envSecret, fileSecret, notJSON, "json-s3cr3t-4", "sm-s3cr3t-5", "ssm-s3cr3t-6"}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func files(m map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		s, ok := m[name]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return []byte(s), nil
	}
}

// noAWS fails the test if the AWS configuration is ever loaded.
func noAWS(t *testing.T) func(context.Context) (aws.Config, error) {
	return func(context.Context) (aws.Config, error) {
		t.Error("the AWS configuration was loaded for secrets that need no AWS client")
		return aws.Config{}, errors.New("unexpected")
	}
}

func acct(secrets map[string]config.SecretRef) config.Account {
	return config.Account{Network: "awin", ID: "189069", Secrets: secrets}
}

func TestResolveLocal(t *testing.T) {
	vars := map[string]string{"AWIN_TOKEN": envSecret, "AWIN_JSON": `{"token": "json-s3cr3t-4", "n": 42, "ok": true, "deep": {"a": 1}}`}
	fs := map[string]string{
		"/run/secrets/awin":      fileSecret + "\n",
		"/run/secrets/crlf":      fileSecret + "\r\n",
		"/run/secrets/awin.json": `{"token": "json-s3cr3t-4"}` + "\n",
		"/run/secrets/plain":     notJSON,
		"/run/secrets/empty":     "\n",
	}
	tests := []struct {
		name    string
		secrets map[string]config.SecretRef
		want    map[string]string
		errs    []string // each line of the error, in order
	}{{
		name: "env, file and value",
		secrets: map[string]config.SecretRef{
			"token": {Env: "AWIN_TOKEN"},
			"key":   {File: "/run/secrets/awin"},
			"crlf":  {File: "/run/secrets/crlf"},
			"id":    {Value: "client-1"},
		},
		want: map[string]string{"token": envSecret, "key": fileSecret, "crlf": fileSecret, "id": "client-1"},
	}, {
		name: "json keys",
		secrets: map[string]config.SecretRef{
			"env":   {Env: "AWIN_JSON", JSONKey: "token"},
			"file":  {File: "/run/secrets/awin.json", JSONKey: "token"},
			"num":   {Env: "AWIN_JSON", JSONKey: "n"},
			"bool":  {Env: "AWIN_JSON", JSONKey: "ok"},
			"value": {Value: `{"user": "u1"}`, JSONKey: "user"},
		},
		want: map[string]string{"env": "json-s3cr3t-4", "file": "json-s3cr3t-4", "num": "42", "bool": "true", "value": "u1"},
	}, {
		name:    "missing env var",
		secrets: map[string]config.SecretRef{"token": {Env: "AWIN_TOKN"}},
		errs:    []string{"awin account 189069: secret token from env:AWIN_TOKN: not set or empty"},
	}, {
		name:    "unreadable file",
		secrets: map[string]config.SecretRef{"token": {File: "/run/secrets/nope"}},
		errs:    []string{"awin account 189069: secret token from file:/run/secrets/nope: open /run/secrets/nope: file does not exist"},
	}, {
		name:    "empty file",
		secrets: map[string]config.SecretRef{"token": {File: "/run/secrets/empty"}},
		errs:    []string{"awin account 189069: secret token from file:/run/secrets/empty: empty value"},
	}, {
		name: "json key errors, all reported",
		secrets: map[string]config.SecretRef{
			"a": {Env: "AWIN_JSON", JSONKey: "password"},
			"b": {File: "/run/secrets/plain", JSONKey: "token"},
			"c": {Env: "AWIN_JSON", JSONKey: "deep"},
			"d": {Env: "AWIN_TOKEN"},
		},
		errs: []string{
			"awin account 189069: secret a from env:AWIN_JSON json_key:password: json_key password: no such key in the JSON object",
			"awin account 189069: secret b from file:/run/secrets/plain json_key:token: json_key token: the value is not a JSON object",
			"awin account 189069: secret c from env:AWIN_JSON json_key:deep: json_key deep: the key holds no string, number or boolean",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.NewResolver(config.ResolverOptions{Getenv: env(vars), ReadFile: files(fs), AWSConfig: noAWS(t)})
			got, err := r.Resolve(context.Background(), acct(tt.secrets))
			if tt.errs != nil {
				if err == nil {
					t.Fatalf("got %v, want errors %q", got, tt.errs)
				}
				if lines := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(lines, tt.errs) {
					t.Errorf("error:\ngot  %q\nwant %q", lines, tt.errs)
				}
				var se *config.SecretError
				if !errors.As(err, &se) || se.Network != "awin" || se.Account != "189069" {
					t.Errorf("error %v is not a *SecretError of awin account 189069", err)
				}
				assertNoSecret(t, err)
				if vals := r.Values(); len(vals) != 0 {
					t.Errorf("Values after a failure: got %q, want none", vals)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	for _, s := range secretValues {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows the secret value %q", err, s)
		}
	}
}

func TestResolveFileNotExist(t *testing.T) {
	r := config.NewResolver(config.ResolverOptions{ReadFile: files(nil)})
	_, err := r.Resolve(context.Background(), acct(map[string]config.SecretRef{"t": {File: "/x"}}))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func TestResolveDefaults(t *testing.T) {
	t.Setenv("AFFLAKE_TEST_TOKEN", envSecret)
	path := t.TempDir() + "/token"
	if err := os.WriteFile(path, []byte(fileSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := config.NewResolver(config.ResolverOptions{AWSConfig: noAWS(t)})
	got, err := r.Resolve(context.Background(), acct(map[string]config.SecretRef{
		"a": {Env: "AFFLAKE_TEST_TOKEN"},
		"b": {File: path},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"a": envSecret, "b": fileSecret}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// fakeSM and fakeSSM implement the Resolver's AWS interfaces.
type fakeSM struct {
	mu      sync.Mutex
	secrets map[string]string
	calls   []string // secret ids, with the region when a call sets one
}

func (f *fakeSM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	var o secretsmanager.Options
	for _, fn := range opts {
		fn(&o)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.SecretId)
	f.calls = append(f.calls, strings.TrimSuffix(id+" "+o.Region, " "))
	s, ok := f.secrets[id]
	if !ok {
		return nil, errAccessDenied
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(s)}, nil
}

type fakeSSM struct {
	mu     sync.Mutex
	params map[string]string
	calls  []string
}

func (f *fakeSSM) GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.Name)
	f.calls = append(f.calls, fmt.Sprintf("%s decrypt=%t", name, aws.ToBool(in.WithDecryption)))
	v, ok := f.params[name]
	if !ok {
		return nil, errAccessDenied
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(v)}}, nil
}

var errAccessDenied = errors.New("AccessDeniedException: not authorized")

func TestResolveAWSFakes(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-west-2:123456789012:secret:cj-AbCdEf"
	sm := &fakeSM{secrets: map[string]string{
		"prod/awin": `{"token": "sm-s3cr3t-5", "user": "awin-user"}`,
		arn:         "cj-key",
	}}
	ps := &fakeSSM{params: map[string]string{"/afflake/impact/token": "ssm-s3cr3t-6"}}
	r := config.NewResolver(config.ResolverOptions{SecretsManager: sm, SSM: ps, AWSConfig: noAWS(t)})
	ctx := context.Background()

	a := config.Account{Network: "awin", ID: "1", Secrets: map[string]config.SecretRef{
		"token": {AWSSecretsManager: "prod/awin", JSONKey: "token"},
		"user":  {AWSSecretsManager: "prod/awin", JSONKey: "user"},
		"cj":    {AWSSecretsManager: arn},
		"ssm":   {AWSSSM: "/afflake/impact/token"},
	}}
	b := config.Account{Network: "awin", ID: "2", Secrets: map[string]config.SecretRef{
		"token": {AWSSecretsManager: "prod/awin", JSONKey: "token"},
		"ssm":   {AWSSSM: "/afflake/impact/token"},
	}}
	got, err := r.Resolve(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"token": "sm-s3cr3t-5", "user": "awin-user", "cj": "cj-key", "ssm": "ssm-s3cr3t-6"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("account 1: got %v, want %v", got, want)
	}
	got, err = r.Resolve(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"token": "sm-s3cr3t-5", "ssm": "ssm-s3cr3t-6"}; !reflect.DeepEqual(got, want) {
		t.Errorf("account 2: got %v, want %v", got, want)
	}
	// Each source is read once; an ARN's region is the call's region.
	if want := []string{arn + " us-west-2", "prod/awin"}; !reflect.DeepEqual(slices.Sorted(slices.Values(sm.calls)), want) {
		t.Errorf("Secrets Manager calls: got %q, want %q", sm.calls, want)
	}
	if want := []string{"/afflake/impact/token decrypt=true"}; !reflect.DeepEqual(ps.calls, want) {
		t.Errorf("SSM calls: got %q, want %q", ps.calls, want)
	}
	if got, want := r.Values(), []string{"ssm-s3cr3t-6", "sm-s3cr3t-5", "awin-user", "cj-key"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Values: got %q, want %q", got, want)
	}

	// AWS errors name the account, the secret and its source.
	_, err = r.Resolve(ctx, config.Account{Network: "cj", ID: "9", Secrets: map[string]config.SecretRef{
		"a": {AWSSecretsManager: "prod/missing"},
		"b": {AWSSSM: "/missing"},
	}})
	wantErr := "cj account 9: secret a from aws_secretsmanager:prod/missing: AccessDeniedException: not authorized\n" +
		"cj account 9: secret b from aws_ssm:/missing: AccessDeniedException: not authorized"
	if err == nil || err.Error() != wantErr {
		t.Errorf("error:\ngot  %v\nwant %s", err, wantErr)
	}
	if !errors.Is(err, errAccessDenied) {
		t.Errorf("error %v does not wrap the client's error", err)
	}
}

func TestResolveConcurrent(t *testing.T) {
	sm := &fakeSM{secrets: map[string]string{"shared": "sm-s3cr3t-5"}}
	r := config.NewResolver(config.ResolverOptions{SecretsManager: sm})
	var wg sync.WaitGroup
	results := make([]string, 16)
	for i := range results {
		wg.Go(func() {
			got, err := r.Resolve(context.Background(), config.Account{Network: "awin", ID: fmt.Sprint(i),
				Secrets: map[string]config.SecretRef{"token": {AWSSecretsManager: "shared"}}})
			if err != nil {
				t.Error(err)
			}
			results[i] = got["token"]
		})
	}
	wg.Wait()
	for i, got := range results {
		if got != "sm-s3cr3t-5" {
			t.Errorf("account %d: got %q, want %q", i, got, "sm-s3cr3t-5")
		}
	}
	if len(sm.calls) != 1 {
		t.Errorf("got %d calls for one shared secret, want 1", len(sm.calls))
	}
}

func TestResolveAWSConfigError(t *testing.T) {
	r := config.NewResolver(config.ResolverOptions{AWSConfig: func(context.Context) (aws.Config, error) {
		return aws.Config{}, errors.New("failed to load shared config profile, nope")
	}})
	_, err := r.Resolve(context.Background(), acct(map[string]config.SecretRef{"token": {AWSSSM: "/p"}}))
	want := "awin account 189069: secret token from aws_ssm:/p: aws configuration: failed to load shared config profile, nope"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
