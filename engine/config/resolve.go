package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// SecretsManager is the part of the AWS Secrets Manager client the
// Resolver calls; *secretsmanager.Client implements it.
type SecretsManager interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SSM is the part of the AWS Systems Manager client the Resolver calls;
// *ssm.Client implements it.
type SSM interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// ResolverOptions configure a Resolver. The zero value reads the
// process's environment and files and, only when a secret needs them,
// builds AWS clients from the standard configuration and credential
// chain.
type ResolverOptions struct {
	// Getenv reads an environment variable; an empty result is an
	// error. Nil means os.Getenv.
	Getenv func(key string) string
	// ReadFile reads a file. Nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
	// SecretsManager and SSM are the AWS clients. Nil means a client
	// built on first use from AWSConfig.
	SecretsManager SecretsManager
	SSM            SSM
	// AWSConfig loads the AWS configuration the default clients are
	// built from. Nil means config.LoadDefaultConfig: the environment
	// (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_*, …), the shared
	// files, web identity, ECS and EC2 instance roles.
	AWSConfig func(ctx context.Context) (aws.Config, error)
}

// Resolver turns accounts' secret references into values. It caches
// each source's value, so a secret shared by several accounts is read
// once. It is safe for concurrent use.
type Resolver struct {
	opts ResolverOptions

	mu     sync.Mutex
	cache  map[string]*fetch // by source kind and reference
	values map[string]bool   // every value handed out

	awsMu  sync.Mutex // guards the AWS configuration and clients
	awsCfg *aws.Config
	sm     SecretsManager
	ssm    SSM
}

// fetch is one source's read, shared by concurrent callers.
type fetch struct {
	done chan struct{}
	val  string
	err  error
}

// NewResolver returns a Resolver; see ResolverOptions for the defaults.
func NewResolver(opts ResolverOptions) *Resolver {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.AWSConfig == nil {
		opts.AWSConfig = func(ctx context.Context) (aws.Config, error) {
			return awsconfig.LoadDefaultConfig(ctx)
		}
	}
	return &Resolver{
		opts:   opts,
		cache:  map[string]*fetch{},
		values: map[string]bool{},
		sm:     opts.SecretsManager,
		ssm:    opts.SSM,
	}
}

// SecretError is a secret that could not be resolved. Its message names
// the network, the account, the secret and its source, never a value.
type SecretError struct {
	Network, Account string
	Secret           string    // the secret's name in the account
	Ref              SecretRef // where it was read from
	Err              error
}

func (e *SecretError) Error() string {
	return fmt.Sprintf("%s account %s: secret %s from %s: %v", e.Network, e.Account, e.Secret, e.Ref, e.Err)
}

func (e *SecretError) Unwrap() error { return e.Err }

// Resolve reads every secret of acct and returns them by name. All the
// secrets that fail are reported, each as a *SecretError.
func (r *Resolver) Resolve(ctx context.Context, acct Account) (map[string]string, error) {
	names := make([]string, 0, len(acct.Secrets))
	for n := range acct.Secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]string, len(names))
	var errs []error
	for _, name := range names {
		ref := acct.Secrets[name]
		v, err := r.secret(ctx, ref)
		if err != nil {
			errs = append(errs, &SecretError{Network: acct.Network, Account: acct.ID, Secret: name, Ref: ref, Err: err})
			continue
		}
		out[name] = v
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	r.mu.Lock()
	for _, v := range out {
		r.values[v] = true
	}
	r.mu.Unlock()
	return out, nil
}

// Values returns every secret value resolved so far, longest first, so
// that a redactor masks a value containing another whole.
func (r *Resolver) Values() []string {
	r.mu.Lock()
	out := make([]string, 0, len(r.values))
	for v := range r.values {
		out = append(out, v)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

func (r *Resolver) secret(ctx context.Context, ref SecretRef) (string, error) {
	kind, id := ref.source()
	var raw string
	var err error
	switch kind {
	case "":
		return "", errors.New("no source")
	case SourceValue:
		raw = ref.Value
	default:
		raw, err = r.cached(ctx, kind, id)
	}
	if err != nil {
		return "", err
	}
	if ref.JSONKey != "" {
		raw, err = jsonKey(raw, ref.JSONKey)
		if err != nil {
			return "", err
		}
	}
	if raw == "" {
		return "", errors.New("empty value")
	}
	return raw, nil
}

// cached reads a source once; a failed read is tried again next time.
func (r *Resolver) cached(ctx context.Context, kind, id string) (string, error) {
	key := kind + ":" + id
	r.mu.Lock()
	f, ok := r.cache[key]
	if !ok {
		f = &fetch{done: make(chan struct{})}
		r.cache[key] = f
	}
	r.mu.Unlock()
	if ok {
		select {
		case <-f.done:
			return f.val, f.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	f.val, f.err = r.read(ctx, kind, id)
	if f.err != nil {
		r.mu.Lock()
		delete(r.cache, key)
		r.mu.Unlock()
	}
	close(f.done)
	return f.val, f.err
}

func (r *Resolver) read(ctx context.Context, kind, id string) (string, error) {
	switch kind {
	case SourceEnv:
		v := r.opts.Getenv(id)
		if v == "" {
			return "", errors.New("not set or empty")
		}
		return v, nil
	case SourceFile:
		b, err := r.opts.ReadFile(id)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case SourceSecretsManager:
		return r.secretsManager(ctx, id)
	case SourceSSM:
		return r.parameter(ctx, id)
	}
	return "", fmt.Errorf("unknown source %q", kind)
}

func (r *Resolver) secretsManager(ctx context.Context, id string) (string, error) {
	c, err := r.smClient(ctx)
	if err != nil {
		return "", err
	}
	var opts []func(*secretsmanager.Options)
	if region := arnRegion(id); region != "" {
		opts = append(opts, func(o *secretsmanager.Options) { o.Region = region })
	}
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}, opts...)
	if err != nil {
		return "", err
	}
	switch {
	case out.SecretString != nil:
		return *out.SecretString, nil
	case out.SecretBinary != nil:
		return string(out.SecretBinary), nil
	}
	return "", errors.New("the secret has no value")
}

func (r *Resolver) parameter(ctx context.Context, name string) (string, error) {
	c, err := r.ssmClient(ctx)
	if err != nil {
		return "", err
	}
	var opts []func(*ssm.Options)
	if region := arnRegion(name); region != "" {
		opts = append(opts, func(o *ssm.Options) { o.Region = region })
	}
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)}, opts...)
	if err != nil {
		return "", err
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", errors.New("the parameter has no value")
	}
	return *out.Parameter.Value, nil
}

// arnRegion is the region of an ARN: the secret or parameter lives
// there whatever the configured region.
func arnRegion(id string) string {
	if !arn.IsARN(id) {
		return ""
	}
	a, err := arn.Parse(id)
	if err != nil {
		return ""
	}
	return a.Region
}

func (r *Resolver) smClient(ctx context.Context) (SecretsManager, error) {
	r.awsMu.Lock()
	defer r.awsMu.Unlock()
	if r.sm == nil {
		cfg, err := r.aws(ctx)
		if err != nil {
			return nil, err
		}
		r.sm = secretsmanager.NewFromConfig(cfg)
	}
	return r.sm, nil
}

func (r *Resolver) ssmClient(ctx context.Context) (SSM, error) {
	r.awsMu.Lock()
	defer r.awsMu.Unlock()
	if r.ssm == nil {
		cfg, err := r.aws(ctx)
		if err != nil {
			return nil, err
		}
		r.ssm = ssm.NewFromConfig(cfg)
	}
	return r.ssm, nil
}

// aws loads the AWS configuration once; r.awsMu is held.
func (r *Resolver) aws(ctx context.Context) (aws.Config, error) {
	if r.awsCfg == nil {
		cfg, err := r.opts.AWSConfig(ctx)
		if err != nil {
			return aws.Config{}, fmt.Errorf("aws configuration: %w", err)
		}
		r.awsCfg = &cfg
	}
	return *r.awsCfg, nil
}

// jsonKey takes key from a value holding a JSON object. Its errors
// never quote the value: a JSON syntax error would.
func jsonKey(raw, key string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil || obj == nil {
		return "", fmt.Errorf("json_key %s: the value is not a JSON object", key)
	}
	v, ok := obj[key]
	if !ok {
		return "", fmt.Errorf("json_key %s: no such key in the JSON object", key)
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	v = bytes.TrimSpace(v)
	if len(v) > 0 && (v[0] == '{' || v[0] == '[') || string(v) == "null" {
		return "", fmt.Errorf("json_key %s: the key holds no string, number or boolean", key)
	}
	return string(v), nil // a number or a boolean, as written
}
