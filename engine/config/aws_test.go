package config_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/afflake/afflake/engine/config"
)

// awsServer emulates GetSecretValue and GetParameter of the AWS JSON
// protocol: POST /, the operation in X-Amz-Target, JSON in and out.
type awsServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // target and the id asked for
	auth     []string // the Authorization headers' credential scopes
}

func newAWSServer(t *testing.T) *awsServer {
	s := &awsServer{}
	secrets := map[string]string{
		"prod/awin": `{"token": "sm-s3cr3t-5", "user": "awin-user"}`,
	}
	params := map[string]string{"/afflake/cj/token": "ssm-s3cr3t-6"}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct {
			SecretId       string
			Name           string
			WithDecryption bool
		}
		if r.Method != http.MethodPost || json.Unmarshal(body, &in) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		target := r.Header.Get("X-Amz-Target")
		auth := r.Header.Get("Authorization")
		if i := strings.Index(auth, "Credential="); i >= 0 {
			auth, _, _ = strings.Cut(auth[i+len("Credential="):], ",")
		}
		s.mu.Lock()
		s.requests = append(s.requests, strings.TrimSpace(target+" "+in.SecretId+in.Name))
		s.auth = append(s.auth, auth)
		s.mu.Unlock()

		fail := func(kind, msg string) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"__type": kind, "message": msg})
		}
		var out any
		switch target {
		case "secretsmanager.GetSecretValue":
			v, ok := secrets[in.SecretId]
			if !ok {
				fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
				return
			}
			out = map[string]any{"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + in.SecretId,
				"Name": in.SecretId, "SecretString": v, "VersionId": "v1"}
		case "AmazonSSM.GetParameter":
			v, ok := params[in.Name]
			if !ok || !in.WithDecryption {
				fail("ParameterNotFound", "")
				return
			}
			out = map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "SecureString", "Value": v, "Version": 3}}
		default:
			fail("UnknownOperationException", "")
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(s.Close)
	return s
}

// The default Resolver builds real SDK clients from the environment,
// as in production; only the endpoints point at the emulator.
func TestResolveAWSSDK(t *testing.T) {
	srv := newAWSServer(t)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":                "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":            "test-secret-key",
		"AWS_SESSION_TOKEN":                "",
		"AWS_REGION":                       "eu-west-1",
		"AWS_PROFILE":                      "",
		"AWS_CONFIG_FILE":                  filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":      filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_ENDPOINT_URL":                 "",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.URL,
		"AWS_ENDPOINT_URL_SSM":             srv.URL,
		"AWS_MAX_ATTEMPTS":                 "1",
	} {
		t.Setenv(k, v)
	}
	r := config.NewResolver(config.ResolverOptions{})
	ctx := context.Background()

	got, err := r.Resolve(ctx, config.Account{Network: "awin", ID: "189069", Secrets: map[string]config.SecretRef{
		"token": {AWSSecretsManager: "prod/awin", JSONKey: "token"},
		"user":  {AWSSecretsManager: "prod/awin", JSONKey: "user"},
		"cj":    {AWSSSM: "/afflake/cj/token"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"token": "sm-s3cr3t-5", "user": "awin-user", "cj": "ssm-s3cr3t-6"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	_, err = r.Resolve(ctx, config.Account{Network: "cj", ID: "7", Secrets: map[string]config.SecretRef{
		"token": {AWSSecretsManager: "prod/missing"},
	}})
	if err == nil {
		t.Fatal("got no error for a missing secret")
	}
	for _, part := range []string{"cj account 7: secret token from aws_secretsmanager:prod/missing: ", "ResourceNotFoundException", "can't find the specified secret"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not say %q", err, part)
		}
	}
	assertNoSecret(t, err)

	wantReqs := []string{
		"AmazonSSM.GetParameter /afflake/cj/token",
		"secretsmanager.GetSecretValue prod/awin", // once for two secrets
		"secretsmanager.GetSecretValue prod/missing",
	}
	if got := srv.requests; !reflect.DeepEqual(slices.Sorted(slices.Values(got)), wantReqs) {
		t.Errorf("requests: got %q, want %q", got, wantReqs)
	}
	for _, a := range srv.auth {
		if !strings.HasPrefix(a, "AKIDTEST/") || !strings.Contains(a, "/eu-west-1/") {
			t.Errorf("request signed with %q, want the static credentials in eu-west-1", a)
		}
	}
}

// Clients built by the caller (here with BaseEndpoint and static
// credentials) are used as given.
func TestResolveAWSClients(t *testing.T) {
	srv := newAWSServer(t)
	cfg := aws.Config{
		Region:      "eu-central-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDOTHER", "other-secret-key", ""),
	}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ps := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	r := config.NewResolver(config.ResolverOptions{SecretsManager: sm, SSM: ps, AWSConfig: noAWS(t)})
	got, err := r.Resolve(context.Background(), config.Account{Network: "awin", ID: "1", Secrets: map[string]config.SecretRef{
		"token": {AWSSecretsManager: "prod/awin", JSONKey: "token"},
		"cj":    {AWSSSM: "/afflake/cj/token"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"token": "sm-s3cr3t-5", "cj": "ssm-s3cr3t-6"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, a := range srv.auth {
		if !strings.HasPrefix(a, "AKIDOTHER/") || !strings.Contains(a, "/eu-central-1/") {
			t.Errorf("request signed with %q, want the given client's credentials", a)
		}
	}

	_, err = r.Resolve(context.Background(), config.Account{Network: "cj", ID: "7", Secrets: map[string]config.SecretRef{
		"token": {AWSSSM: "/afflake/cj/missing"},
	}})
	if err == nil || !strings.Contains(err.Error(), "cj account 7: secret token from aws_ssm:/afflake/cj/missing: ") ||
		!strings.Contains(err.Error(), "ParameterNotFound") {
		t.Errorf("got %v, want a ParameterNotFound error naming the account and secret", err)
	}
}
