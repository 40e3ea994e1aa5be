package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"github.com/afflake/afflake/engine/storage/s3test"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The integration tests run against a real S3-protocol server: the one at
// AFFLAKE_S3_ENDPOINT (credentials from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY), else a versitygw the tests start themselves. With
// neither they skip, unless AFFLAKE_REQUIRE_S3=1.
const versitygwInstall = s3test.Install

// ---- unit tests: no server ----

func TestParseS3(t *testing.T) {
	for _, tc := range []struct {
		loc, bucket, prefix, wantErr string
	}{
		{loc: "s3://bucket", bucket: "bucket"},
		{loc: "s3://bucket/", bucket: "bucket"},
		{loc: "S3://bucket/lake", bucket: "bucket", prefix: "lake"},
		{loc: "s3://my.bucket-1/a/b/c/", bucket: "my.bucket-1", prefix: "a/b/c"},
		{loc: "s3://bucket/prod/network=awin", bucket: "bucket", prefix: "prod/network=awin"},
		{loc: "s3://", wantErr: "no bucket name"},
		{loc: "s3:///lake", wantErr: "no bucket name"},
		{loc: "s3://ab", wantErr: "3 to 63"},
		{loc: "s3://" + strings.Repeat("a", 64), wantErr: "3 to 63"},
		{loc: "s3://Bucket", wantErr: "invalid bucket name"},
		{loc: "s3://-bucket", wantErr: "invalid bucket name"},
		{loc: "s3://bucket./x", wantErr: "invalid bucket name"},
		{loc: "s3://buc ket", wantErr: "invalid bucket name"},
		{loc: "s3://bucket//lake", wantErr: "invalid prefix"},
		{loc: "s3://bucket/a/../b", wantErr: "invalid prefix"},
		{loc: "s3://bucket/a?versionId=1", wantErr: "invalid prefix"},
		{loc: "/data/lake", wantErr: "not an s3:// location"},
		{loc: "s3://AKID:secret@bucket/lake", wantErr: "credentials in the location are not supported"},
	} {
		bucket, prefix, err := parseS3(tc.loc)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseS3(%q) err = %v, want %q", tc.loc, err, tc.wantErr)
			}
			continue
		}
		if err != nil || bucket != tc.bucket || prefix != tc.prefix {
			t.Errorf("parseS3(%q) = %q, %q, %v; want %q, %q", tc.loc, bucket, prefix, err, tc.bucket, tc.prefix)
		}
	}
}

func TestS3Endpoint(t *testing.T) {
	for _, tc := range []struct {
		name, explicit, s3Env, allEnv, ignore string
		want, wantErr                         string
	}{
		{name: "aws", want: ""},
		{name: "explicit wins", explicit: "http://127.0.0.1:9000/", s3Env: "http://s3env:1", want: "http://127.0.0.1:9000"},
		{name: "service env before global", s3Env: "https://minio.internal:9000", allEnv: "http://all:1", want: "https://minio.internal:9000"},
		{name: "global env", allEnv: "http://localhost:7070", want: "http://localhost:7070"},
		{name: "ignored", allEnv: "http://localhost:7070", ignore: "true", want: ""},
		{name: "not a url", s3Env: "localhost:7070", wantErr: "AWS_ENDPOINT_URL_S3 is not an http(s) URL"},
		{name: "credentials in url", explicit: "http://user:pw@host:1", wantErr: "endpoint must not hold credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL_S3", tc.s3Env)
			t.Setenv("AWS_ENDPOINT_URL", tc.allEnv)
			t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", tc.ignore)
			got, err := s3Endpoint(tc.explicit)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("error %q shows the URL's password", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("s3Endpoint(%q) = %q, %v; want %q", tc.explicit, got, err, tc.want)
			}
		})
	}
}

// isolateAWS keeps the developer's AWS configuration out of a test.
func isolateAWS(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":                     filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":         filepath.Join(dir, "credentials"),
		"AWS_PROFILE":                         "",
		"AWS_REGION":                          "",
		"AWS_DEFAULT_REGION":                  "",
		"AWS_ENDPOINT_URL":                    "",
		"AWS_ENDPOINT_URL_S3":                 "",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AFFLAKE_S3_PATH_STYLE":               "",
		"AWS_EC2_METADATA_DISABLED":           "true",
	} {
		t.Setenv(k, v)
	}
}

func TestS3PathStyle(t *testing.T) {
	for _, tc := range []struct {
		name, endpoint, env string
		force, want         bool
		wantErr             string
	}{
		{name: "aws", want: false},
		{name: "aws forced", force: true, want: true},
		{name: "aws env", env: "1", want: true},
		{name: "localhost", endpoint: "http://localhost:7070", want: true},
		{name: "ipv4", endpoint: "http://127.0.0.1:7070", want: true},
		{name: "ipv6", endpoint: "http://[::1]:7070", want: true},
		{name: "private ip", endpoint: "https://10.1.2.3", want: true},
		{name: "dns name", endpoint: "https://minio.example.com", want: false},
		{name: "dns name forced", endpoint: "https://minio.example.com", force: true, want: true},
		{name: "dns name env", endpoint: "https://minio.example.com", env: "true", want: true},
		{name: "env off", endpoint: "https://minio.example.com", env: "0", want: false},
		{name: "env bad", env: "yes please", wantErr: `AFFLAKE_S3_PATH_STYLE="yes please" is not a boolean`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWS(t)
			t.Setenv("AFFLAKE_S3_PATH_STYLE", tc.env)
			s, err := S3(context.Background(), "s3://bucket/lake", Options{Endpoint: tc.endpoint, PathStyle: tc.force})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "lake s3://bucket/lake: ") {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o := s.client.(*s3.Client).Options()
			if o.UsePathStyle != tc.want {
				t.Errorf("UsePathStyle = %v, want %v", o.UsePathStyle, tc.want)
			}
			if got := aws.ToString(o.BaseEndpoint); got != tc.endpoint {
				t.Errorf("BaseEndpoint = %q, want %q", got, tc.endpoint)
			}
			if o.Region != "us-east-1" {
				t.Errorf("Region = %q, want the default us-east-1", o.Region)
			}
		})
	}
}

func TestS3OptionsFromEnvironment(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:7070")
	t.Setenv("AWS_REGION", "eu-west-2")
	st, err := Open("s3://bucket/lake")
	if err != nil {
		t.Fatal(err)
	}
	o := st.(*S3Store).client.(*s3.Client).Options()
	if got := aws.ToString(o.BaseEndpoint); got != "http://127.0.0.1:7070" || !o.UsePathStyle || o.Region != "eu-west-2" {
		t.Errorf("endpoint %q, path style %v, region %q; want http://127.0.0.1:7070, true, eu-west-2", got, o.UsePathStyle, o.Region)
	}
	if _, err := Open("s3://AKID:topsecret@bucket/lake"); err == nil || strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "AKID") {
		t.Errorf("Open(location with credentials) err = %v, want an error that does not show them", err)
	}
	for _, bad := range []Options{{PartSize: 1 << 20}, {MultipartThreshold: -1}} {
		if _, err := S3(context.Background(), "s3://bucket/lake", bad); err == nil || !strings.Contains(err.Error(), "5 MiB") {
			t.Errorf("S3(%+v) err = %v, want a part size error", bad, err)
		}
	}
}

func TestS3KeyMapping(t *testing.T) {
	isolateAWS(t)
	for _, tc := range []struct {
		loc, key, object, url, str string
	}{
		{"s3://bucket", "_runs/r1.json", "_runs/r1.json", "s3://bucket/_runs/r1.json", "s3://bucket"},
		{"s3://bucket/lake/", "_runs/r1.json", "lake/_runs/r1.json", "s3://bucket/lake/_runs/r1.json", "s3://bucket/lake"},
		{"s3://bucket/a/b", "x", "a/b/x", "s3://bucket/a/b/x", "s3://bucket/a/b"},
	} {
		s, err := S3(context.Background(), tc.loc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.objectKey(tc.key); got != tc.object {
			t.Errorf("%s: objectKey(%q) = %q, want %q", tc.loc, tc.key, got, tc.object)
		}
		if got, ok := s.relKey(tc.object); !ok || got != tc.key {
			t.Errorf("%s: relKey(%q) = %q, %v; want %q", tc.loc, tc.object, got, ok, tc.key)
		}
		if got := s.url(tc.key); got != tc.url {
			t.Errorf("%s: url(%q) = %q, want %q", tc.loc, tc.key, got, tc.url)
		}
		if got := s.String(); got != tc.str {
			t.Errorf("%s: String() = %q, want %q", tc.loc, got, tc.str)
		}
	}
	s, _ := S3(context.Background(), "s3://bucket/lake", Options{})
	for _, k := range []string{"lake2/x", "other/x", "lake/", "lake/a/", "lake/a//b", "lake"} {
		if got, ok := s.relKey(k); ok {
			t.Errorf("relKey(%q) = %q, true; want it left out", k, got)
		}
	}
	if _, err := s.Get(context.Background(), "../x"); err == nil || !strings.Contains(err.Error(), "invalid key") {
		t.Errorf("Get(../x) err = %v, want invalid key", err)
	}
	if _, err := s.List(context.Background(), "a/../"); err == nil {
		t.Errorf("List(a/../) succeeded")
	}
}

func TestS3TempDir(t *testing.T) {
	isolateAWS(t)
	parent := t.TempDir()
	s, err := S3(context.Background(), "s3://bucket/lake", Options{TempDir: parent})
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Fatalf("staging directory created before use")
	}
	d := s.TempDir()
	if filepath.Dir(d) != parent || s.TempDir() != d {
		t.Fatalf("TempDir() = %q, want one stable directory under %s", d, parent)
	}
	if err := os.WriteFile(filepath.Join(d, "staged"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Close left %s: %v", d, err)
	}
}

// apiErr is an SDK error as the client returns it: an operation error
// around an HTTP response error around the server's code.
func apiErr(status int, code, msg string) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{"X-Amz-Bucket-Region": {"eu-west-1"}}}},
		Err:      &smithy.GenericAPIError{Code: code, Message: msg},
	}}
}

func TestS3Describe(t *testing.T) {
	isolateAWS(t)
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	s, err := S3(context.Background(), "s3://bucket/lake", Options{
		Endpoint:    "http://127.0.0.1:7070",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", secret, "session-token-xyz"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err  error
		kind error
		want string
	}{
		{apiErr(404, "NoSuchKey", "The specified key does not exist."), fs.ErrNotExist, "no such object"},
		{apiErr(404, "NotFound", ""), fs.ErrNotExist, "no such object"},
		{apiErr(404, "NoSuchBucket", "The specified bucket does not exist"), ErrNoBucket, `bucket "bucket" does not exist at http://127.0.0.1:7070`},
		{apiErr(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."), ErrCredentials, "the credentials were rejected (InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.)"},
		{apiErr(403, "SignatureDoesNotMatch", "signature of "+secret), ErrCredentials, "the credentials were rejected (SignatureDoesNotMatch: signature of [REDACTED])"},
		{apiErr(400, "ExpiredToken", "The provided token session-token-xyz has expired."), ErrCredentials, "the credentials were rejected (ExpiredToken: The provided token [REDACTED] has expired.)"},
		{apiErr(404, "XAdminUserNotFound", "No user exists with the provided access key ID."), ErrCredentials, "the credentials were rejected (XAdminUserNotFound: No user exists with the provided access key ID.)"},
		{apiErr(403, "AccessDenied", "Access Denied"), ErrAccessDenied, "access denied (AccessDenied: Access Denied)"},
		{apiErr(403, "Forbidden", ""), ErrAccessDenied, "access denied (Forbidden)"},
		{apiErr(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"), ErrPrecondition, "precondition failed (PreconditionFailed: At least one of the pre-conditions you specified did not hold)"},
		{apiErr(409, "ConditionalRequestConflict", "A conflicting operation occurred."), ErrPrecondition, "precondition failed: a concurrent write (ConditionalRequestConflict: A conflicting operation occurred.)"},
		{apiErr(301, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint."), nil, "the bucket is in another region (eu-west-1; set AWS_REGION)"},
		{apiErr(503, "SlowDown", "Please reduce your request rate."), nil, "SlowDown: Please reduce your request rate. (HTTP 503)"},
		{fmt.Errorf("operation error: %w", context.Canceled), context.Canceled, "context canceled"},
		{&smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}}, nil, "dial tcp: connect: connection refused"},
	} {
		got := s.fail("put", "_state/x.json", tc.err)
		want := "put s3://bucket/lake/_state/x.json: " + tc.want
		if got.Error() != want {
			t.Errorf("error = %q\n                  want %q", got, want)
		}
		if tc.kind != nil && !errors.Is(got, tc.kind) {
			t.Errorf("%q: errors.Is(err, %v) = false", got, tc.kind)
		}
		var api smithy.APIError
		if _, isAPI := errors.AsType[smithy.APIError](tc.err); isAPI && !errors.As(got, &api) {
			t.Errorf("%q: the SDK's error is not kept for errors.As", got)
		}
		for _, sec := range []string{secret, "session-token-xyz"} {
			if strings.Contains(got.Error(), sec) {
				t.Errorf("error %q shows a credential", got)
			}
		}
	}
}

// ---- integration tests: a real S3-protocol server ----

// s3Server is an S3 endpoint with its credentials: a versitygw the tests
// started (ours), or one given by AFFLAKE_S3_ENDPOINT, which outlives
// them.
type s3Server struct {
	*s3test.Server
	ours bool
}

var (
	shared     *s3Server
	sharedErr  error
	sharedOnce sync.Once
	bucket     string
	bucketErr  error
	bucketOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil && shared.ours {
		shared.Stop()
	}
	os.Exit(code)
}

// server is the S3 endpoint of the tests.
func server(t *testing.T) *s3Server {
	t.Helper()
	if ep := os.Getenv("AFFLAKE_S3_ENDPOINT"); ep != "" {
		key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if key == "" || secret == "" {
			t.Fatal("AFFLAKE_S3_ENDPOINT is set but AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not")
		}
		return &s3Server{Server: &s3test.Server{Endpoint: ep, Key: key, Secret: secret}}
	}
	sharedOnce.Do(func() {
		bin := s3test.Bin()
		if bin == "" {
			return
		}
		var p *s3test.Server
		if p, sharedErr = s3test.Start(bin); sharedErr == nil {
			shared = &s3Server{Server: p, ours: true}
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	if shared == nil {
		msg := "no S3 server: set AFFLAKE_S3_ENDPOINT, or install versitygw with `" + versitygwInstall + "`"
		if os.Getenv(s3test.Require) == "1" {
			t.Fatalf("%s=1: %s", s3test.Require, msg)
		}
		t.Skip(msg)
	}
	return shared
}

// ownServer starts a versitygw for t alone, stopped when t ends.
func ownServer(t *testing.T) *s3Server {
	t.Helper()
	return &s3Server{Server: s3test.Own(t), ours: true}
}

func (v *s3Server) createBucket(t *testing.T, name string) {
	t.Helper()
	if err := v.CreateBucket(context.Background(), name); err != nil && !isCode(err, "BucketAlreadyOwnedByYou") {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

// testBucket is the bucket the tests share, created once.
func testBucket(t *testing.T, v *s3Server) string {
	t.Helper()
	bucketOnce.Do(func() {
		bucket = "afflake-test-" + strings.ToLower(rand.Text()[:10])
		bucketErr = v.CreateBucket(context.Background(), bucket)
	})
	if bucketErr != nil {
		t.Fatalf("create bucket %s: %v", bucket, bucketErr)
	}
	return bucket
}

// store is an S3 store on v under a prefix of its own in bucket (the
// shared one if empty); its objects are removed after the test when the
// server is not a throwaway one.
func (v *s3Server) store(t *testing.T, bucketName string, opts Options) *S3Store {
	t.Helper()
	if bucketName == "" {
		bucketName = testBucket(t, v)
	}
	opts.Endpoint = v.Endpoint
	if opts.Credentials == nil {
		opts.Credentials = credentials.NewStaticCredentialsProvider(v.Key, v.Secret, "")
	}
	opts.Region = "us-east-1"
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	prefix := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + "-" + strings.ToLower(rand.Text()[:6])
	s, err := S3(context.Background(), "s3://"+bucketName+"/lake/"+prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !v.ours { // a server that outlives the tests
			ctx := context.Background()
			keys, _ := s.List(ctx, "")
			for _, k := range keys {
				s.Delete(ctx, k)
			}
		}
		s.Close()
	})
	return s
}

// Stores to run the shared suites on.
func stores() map[string]func(t *testing.T) Store {
	return map[string]func(t *testing.T) Store{
		"local": func(t *testing.T) Store { return newStore(t) },
		"s3": func(t *testing.T) Store {
			return server(t).store(t, "", Options{})
		},
	}
}

func TestStoreRoundTrip(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			if err := st.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
			objects := map[string][]byte{
				"_runs/r1.json": []byte(`{"ok":true}`),
				"transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet": []byte("PAR1…PAR1"),
				"transactions/network=awin/ingest_date=2026-11-02/r1-0.parquet": []byte("PAR1 2 PAR1"),
				"transactions/network=cj/ingest_date=2026-11-01/r1-0.parquet":   []byte("PAR1 cj PAR1"),
				"empty": nil,
			}
			for k, v := range objects {
				if err := st.Put(ctx, k, v); err != nil {
					t.Fatalf("Put(%q): %v", k, err)
				}
			}
			for k, v := range objects {
				got, err := st.Get(ctx, k)
				if err != nil || !bytes.Equal(got, v) {
					t.Errorf("Get(%q) = %q, %v; want %q", k, got, err, v)
				}
				rc, err := st.Open(ctx, k)
				if err != nil {
					t.Fatalf("Open(%q): %v", k, err)
				}
				got, err = io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, v) {
					t.Errorf("Open(%q) read %q, %v; want %q", k, got, err, v)
				}
			}
			if err := st.Put(ctx, "_runs/r1.json", []byte("v2")); err != nil {
				t.Fatal(err)
			}
			if got, _ := st.Get(ctx, "_runs/r1.json"); string(got) != "v2" {
				t.Errorf("after overwrite Get = %q, want v2", got)
			}
			for prefix, want := range map[string][]string{
				"transactions/network=awin/": {
					"transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet",
					"transactions/network=awin/ingest_date=2026-11-02/r1-0.parquet",
				},
				"transactions/network=c": {"transactions/network=cj/ingest_date=2026-11-01/r1-0.parquet"},
				"_runs/":                 {"_runs/r1.json"},
				"nothing/":               nil,
				"":                       {"_runs/r1.json", "empty", "transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet", "transactions/network=awin/ingest_date=2026-11-02/r1-0.parquet", "transactions/network=cj/ingest_date=2026-11-01/r1-0.parquet"},
			} {
				got, err := st.List(ctx, prefix)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("List(%q) = %q, %v; want %q", prefix, got, err, want)
				}
			}
			for _, k := range []string{"_runs/r1.json", "_runs/r1.json", "never/there"} {
				if err := st.Delete(ctx, k); err != nil {
					t.Errorf("Delete(%q): %v", k, err)
				}
			}
			if _, err := st.Get(ctx, "_runs/r1.json"); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "_runs/r1.json") {
				t.Errorf("Get(deleted) err = %v, want fs.ErrNotExist naming the key", err)
			}
			if _, err := st.Open(ctx, "transactions"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open(a directory-like prefix) err = %v, want fs.ErrNotExist", err)
			}
			if keys, _ := st.List(ctx, "_runs/"); len(keys) != 0 {
				t.Errorf("List after Delete = %q, want none", keys)
			}
			// PutFile consumes the staged file.
			f, err := os.CreateTemp(st.TempDir(), "stage-*")
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("staged body")
			f.Close()
			if err := st.PutFile(ctx, "raw/1.json.gz", f.Name()); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(f.Name()); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("staged file still there after PutFile: %v", err)
			}
			if got, _ := st.Get(ctx, "raw/1.json.gz"); string(got) != "staged body" {
				t.Errorf("Get after PutFile = %q", got)
			}
		})
	}
}

func TestStoreConditional(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			st, ok := open(t).(Conditional)
			if !ok {
				t.Fatalf("store does not implement Conditional")
			}
			ctx := context.Background()
			const key = "_state/watermarks.json"
			if _, _, err := st.GetWithETag(ctx, key); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("GetWithETag(missing) err = %v, want fs.ErrNotExist", err)
			}
			if _, err := st.PutIfMatch(ctx, key, []byte("x"), `"0123"`); !errors.Is(err, ErrPrecondition) {
				t.Errorf("PutIfMatch(missing) err = %v, want ErrPrecondition", err)
			}
			if _, err := st.PutIfMatch(ctx, key, []byte("x"), ""); err == nil || errors.Is(err, ErrPrecondition) {
				t.Errorf("PutIfMatch(empty etag) err = %v, want a usage error", err)
			}

			// Two writers create the state at once: one wins.
			const writers = 8
			results := race(writers, func(i int) error {
				return st.PutIfAbsent(ctx, key, fmt.Appendf(nil, "writer %d", i))
			})
			winner := checkOneWins(t, "PutIfAbsent", results)
			data, tag, err := st.GetWithETag(ctx, key)
			if err != nil || string(data) != fmt.Sprintf("writer %d", winner) || tag == "" {
				t.Fatalf("after PutIfAbsent: %q, %q, %v; want writer %d's state", data, tag, err, winner)
			}

			// Both read the same version; the first to write wins, the
			// second gets ErrPrecondition and must re-read.
			tagA, err := st.PutIfMatch(ctx, key, []byte("A"), tag)
			if err != nil || tagA == "" || tagA == tag {
				t.Fatalf("PutIfMatch(A) = %q, %v; want a new etag", tagA, err)
			}
			if _, err := st.PutIfMatch(ctx, key, []byte("B"), tag); !errors.Is(err, ErrPrecondition) || !strings.Contains(err.Error(), key) {
				t.Fatalf("PutIfMatch(B, stale) err = %v, want ErrPrecondition naming %s", err, key)
			}
			if data, tagNow, _ := st.GetWithETag(ctx, key); string(data) != "A" || tagNow != tagA {
				t.Errorf("state = %q (%q), want A (%q)", data, tagNow, tagA)
			}

			// Many writers with the same etag at once, round after round:
			// exactly one wins each round.
			tag = tagA
			for round := range 20 {
				tags := make([]string, writers)
				results = race(writers, func(i int) error {
					var err error
					tags[i], err = st.PutIfMatch(ctx, key, fmt.Appendf(nil, "round %d racer %d", round, i), tag)
					return err
				})
				winner = checkOneWins(t, "PutIfMatch", results)
				data, now, _ := st.GetWithETag(ctx, key)
				if string(data) != fmt.Sprintf("round %d racer %d", round, winner) || now != tags[winner] {
					t.Fatalf("round %d: state = %q (%s), want racer %d's (%s)", round, data, now, winner, tags[winner])
				}
				tag = now
			}
			if err := st.PutIfAbsent(ctx, key, []byte("late")); !errors.Is(err, ErrPrecondition) {
				t.Errorf("PutIfAbsent(existing) err = %v, want ErrPrecondition", err)
			}
		})
	}
}

// race runs f(0..n-1) at once and returns their errors.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// checkOneWins checks that exactly one call succeeded and every other one
// failed with ErrPrecondition, and returns the winner.
func checkOneWins(t *testing.T, op string, errs []error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("%s: writers %d and %d both won", op, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, ErrPrecondition):
			t.Fatalf("%s: writer %d: %v, want ErrPrecondition", op, i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no writer won", op)
	}
	return winner
}

func TestS3ListPagination(t *testing.T) {
	v := server(t)
	st := v.store(t, "", Options{})
	ctx := context.Background()
	const n = 1100
	want := make([]string, 0, n)
	for i := range n {
		want = append(want, fmt.Sprintf("tables/awin/ingest_date=2026-11-01/r1-%04d.parquet", i))
	}
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, k := range want {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs <- st.Put(ctx, k, []byte(k))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st.Put(ctx, "tables/cj/x.parquet", nil)

	// The server pages its listing: one ListObjectsV2 does not hold all.
	page, err := v.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(st.Bucket()), Prefix: aws.String(st.Prefix() + "tables/awin/"),
	})
	if err != nil || !aws.ToBool(page.IsTruncated) || len(page.Contents) >= n {
		t.Fatalf("first page: %d keys, truncated %v, %v; want a truncated page", len(page.Contents), aws.ToBool(page.IsTruncated), err)
	}
	got, err := st.List(ctx, "tables/awin/")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List returned %d keys (first %q), want %d sorted keys", len(got), got[:min(3, len(got))], n)
	}
	if got, _ := st.List(ctx, "tables/awin/ingest_date=2026-11-01/r1-105"); len(got) != 10 || got[0] != want[1050] {
		t.Errorf("List(r1-105) = %q, want r1-1050…r1-1059", got)
	}
}

func TestS3MultipartPutFile(t *testing.T) {
	v := server(t)
	st := v.store(t, "", Options{})
	ctx := context.Background()
	const size = 20<<20 + 12345 // 3 parts of 8 MiB
	body := make([]byte, size)
	rand.Read(body)
	path := filepath.Join(st.TempDir(), "big.parquet")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	key := "transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet"
	if err := st.PutFile(ctx, key, path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PutFile left the staged file: %v", err)
	}
	head, err := v.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(st.Bucket()), Key: aws.String(st.Prefix() + key)})
	if err != nil {
		t.Fatal(err)
	}
	// A multipart object's ETag ends in "-<parts>".
	if etag := aws.ToString(head.ETag); !strings.HasSuffix(strings.Trim(etag, `"`), "-3") || aws.ToInt64(head.ContentLength) != size {
		t.Errorf("object: etag %s, %d bytes; want a 3-part upload of %d bytes", etag, aws.ToInt64(head.ContentLength), size)
	}
	rc, err := st.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != size || !bytes.Equal(h.Sum(nil), sha(body)) {
		t.Errorf("read back %d bytes, %v; want the %d bytes written", n, err, size)
	}

	// Below the threshold: one PUT.
	small := filepath.Join(st.TempDir(), "small")
	os.WriteFile(small, body[:1<<20], 0o644)
	if err := st.PutFile(ctx, "small", small); err != nil {
		t.Fatal(err)
	}
	head, err = v.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(st.Bucket()), Key: aws.String(st.Prefix() + "small")})
	if err != nil || strings.Contains(aws.ToString(head.ETag), "-") {
		t.Errorf("small object etag %s, %v; want a single PUT", aws.ToString(head.ETag), err)
	}

	// A failed upload keeps the staged file and leaves no object.
	missing, err := S3(ctx, "s3://afflake-no-such-bucket/lake", Options{Endpoint: v.Endpoint, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(v.Key, v.Secret, ""), PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, body, 0o644)
	err = missing.PutFile(ctx, key, path)
	if !errors.Is(err, ErrNoBucket) || !strings.Contains(err.Error(), "s3://afflake-no-such-bucket/lake/"+key) {
		t.Errorf("PutFile to a missing bucket: err = %v, want ErrNoBucket naming the object", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("failed PutFile removed the staged file: %v", err)
	}
}

func sha(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func TestS3CheckErrors(t *testing.T) {
	v := server(t)
	ctx := context.Background()
	creds := func(key, secret string) Options {
		return Options{Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")}
	}

	// A missing bucket.
	st := v.store(t, "afflake-missing-bucket", Options{})
	err := st.Check(ctx)
	want := fmt.Sprintf(`lake %s: head bucket: bucket "afflake-missing-bucket" does not exist at %s`, st, v.Endpoint)
	if !errors.Is(err, ErrNoBucket) || err == nil || err.Error() != want {
		t.Errorf("Check(missing bucket):\n got %v\nwant %s", err, want)
	}
	if _, err := st.Get(ctx, "x"); !errors.Is(err, ErrNoBucket) || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get(missing bucket) err = %v, want ErrNoBucket and not a missing object", err)
	}

	// Credentials the server does not know, and a wrong secret.
	const badSecret = "not-the-secret-0123456789"
	for name, opts := range map[string]Options{
		"unknown key":  creds("AKIAUNKNOWNKEY000000", badSecret),
		"wrong secret": creds(v.Key, badSecret),
	} {
		st := v.store(t, "", opts)
		err := st.Check(ctx)
		if !errors.Is(err, ErrCredentials) {
			t.Errorf("%s: Check err = %v, want ErrCredentials", name, err)
			continue
		}
		prefix := fmt.Sprintf("lake %s: put %s/_state/.probe: the credentials were rejected (", st, st)
		if !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("%s: Check err = %q, want it to start %q", name, err, prefix)
		}
		for _, sec := range []string{badSecret, v.Secret, "AKIAUNKNOWNKEY000000"} {
			if strings.Contains(err.Error(), sec) {
				t.Errorf("%s: error %q shows a credential", name, err)
			}
		}
		if err := st.Put(ctx, "k", nil); !errors.Is(err, ErrCredentials) {
			t.Errorf("%s: Put err = %v, want ErrCredentials", name, err)
		}
	}

	// The probe leaves nothing behind.
	good := v.store(t, "", Options{})
	if err := good.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if keys, err := good.List(ctx, ""); err != nil || len(keys) != 0 {
		t.Errorf("after Check the lake holds %q, %v; want nothing", keys, err)
	}
}

func TestS3OpenFromEnvironment(t *testing.T) {
	v := server(t)
	b := testBucket(t, v)
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", v.Key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", v.Secret)
	t.Setenv("AWS_REGION", "us-east-1")
	ctx := context.Background()
	for _, ep := range []string{v.Endpoint, strings.Replace(v.Endpoint, "127.0.0.1", "localhost", 1)} {
		t.Setenv("AWS_ENDPOINT_URL_S3", ep)
		loc := "s3://" + b + "/lake/open-" + strings.ToLower(rand.Text()[:6])
		st, err := Open(loc)
		if err != nil {
			t.Fatal(err)
		}
		if st.String() != loc {
			t.Errorf("String() = %q, want %q", st.String(), loc)
		}
		if err := st.Check(ctx); err != nil {
			t.Fatalf("%s: Check: %v", ep, err)
		}
		if err := st.Put(ctx, "_runs/r.json", []byte("{}")); err != nil {
			t.Fatalf("%s: %v", ep, err)
		}
		if got, err := st.Get(ctx, "_runs/r.json"); err != nil || string(got) != "{}" {
			t.Errorf("%s: Get = %q, %v", ep, got, err)
		}
		st.Delete(ctx, "_runs/r.json")
	}
}

func TestS3ServerStops(t *testing.T) {
	v := ownServer(t)
	v.createBucket(t, "afflake-stop")
	st := v.store(t, "afflake-stop", Options{})
	ctx := context.Background()
	big := make([]byte, 24<<20)
	rand.Read(big)
	const key = "raw/network=awin/account=1/ingest_date=2026-11-01/r1/000001.json.gz"
	if err := st.Put(ctx, key, big); err != nil {
		t.Fatal(err)
	}
	rc, err := st.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	v.Kill()

	// The read in progress fails, naming the object.
	_, err = io.ReadAll(rc)
	if err == nil || !strings.Contains(err.Error(), "read "+st.url(key)+": ") {
		t.Errorf("reading while the server stops: err = %v, want an error naming %s", err, st.url(key))
	}
	// So do the next requests.
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = st.Put(ctx, "_state/watermarks.json", []byte("{}"))
	if err == nil || !strings.HasPrefix(err.Error(), "put "+st.url("_state/watermarks.json")+": ") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Put with the server down: err = %v, want a connection error naming the object", err)
	}
	f := filepath.Join(st.TempDir(), "part")
	os.WriteFile(f, big, 0o644)
	err = st.PutFile(ctx, key, f)
	if err == nil || !strings.HasPrefix(err.Error(), "put "+st.url(key)+": ") {
		t.Errorf("PutFile with the server down: err = %v, want an error naming the object", err)
	}
	if _, serr := os.Stat(f); serr != nil {
		t.Errorf("failed PutFile removed the staged file: %v", serr)
	}
	if err := st.Check(ctx); err == nil || !strings.HasPrefix(err.Error(), "lake "+st.String()+": ") {
		t.Errorf("Check with the server down: err = %v, want an error naming the lake", err)
	}
}
