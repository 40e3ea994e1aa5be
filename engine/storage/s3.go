package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Defaults of an S3 store's Options.
const (
	// DefaultMultipartThreshold is the size from which PutFile uploads a
	// file in parts.
	DefaultMultipartThreshold = 16 << 20
	// DefaultPartSize is the size of one part of a multipart upload.
	DefaultPartSize = 8 << 20
	// minPartSize is S3's smallest part (but the last).
	minPartSize = 5 << 20
)

// probeKey is the object Check writes and deletes to prove the lake is
// writable.
const probeKey = "_state/.probe"

// Errors of an S3 lake, for errors.Is. The error's text says more (the
// lake, the object, the server's code and message).
var (
	// ErrNoBucket: the lake's bucket does not exist.
	ErrNoBucket = errors.New("no such bucket")
	// ErrCredentials: there are no credentials, or the server rejected
	// them (unknown key, wrong secret, expired token).
	ErrCredentials = errors.New("credentials rejected")
	// ErrAccessDenied: the credentials are valid but not allowed to do
	// what was asked.
	ErrAccessDenied = errors.New("access denied")
)

// Options configure an S3 store. The zero value is the standard AWS
// configuration: credentials, region and endpoint from the environment,
// the shared config files and the instance or task role.
type Options struct {
	// Endpoint is the URL of an S3-compatible server ("http://127.0.0.1:7070").
	// Empty means AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS S3.
	Endpoint string
	// PathStyle forces path-style addressing (http://host/bucket/key).
	// False means path style when AFFLAKE_S3_PATH_STYLE=1 or when the
	// endpoint's host is localhost or an IP address, and virtual-hosted
	// style (http://bucket.host/key) otherwise.
	PathStyle bool
	// Region of the bucket. Empty means the configured region (AWS_REGION,
	// the profile), else us-east-1.
	Region string
	// Credentials. Nil means the standard credential chain.
	Credentials aws.CredentialsProvider
	// MultipartThreshold is the file size from which PutFile uploads in
	// parts. Zero means DefaultMultipartThreshold.
	MultipartThreshold int64
	// PartSize is the size of one part of a multipart upload. Zero means
	// DefaultPartSize; S3 refuses parts smaller than 5 MiB.
	PartSize int64
	// TempDir is where the store's local staging directory is created.
	// Empty means os.TempDir().
	TempDir string
}

// s3API is the part of the S3 client the store calls.
type s3API interface {
	transfermanager.S3APIClient
	HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// S3Store is a lake in an S3 bucket, under a key prefix. Objects are
// written with single PUTs or multipart uploads, both of which S3 makes
// visible only once complete, so a reader never sees a partial object.
//
// An S3Store is safe for concurrent use. Two concurrent writes of the same
// key both succeed and the last one wins, unless they are conditional
// writes (Conditional).
type S3Store struct {
	client   s3API
	uploader *transfermanager.Client
	creds    aws.CredentialsProvider
	bucket   string
	prefix   string // "" or ending in '/'
	endpoint string // "" for AWS S3

	tmpParent string
	mu        sync.Mutex
	tmp       string // created by TempDir
	ownTmp    bool
}

var (
	_ Store       = (*S3Store)(nil)
	_ Conditional = (*S3Store)(nil)
)

// S3 returns the store at location, "s3://bucket" or "s3://bucket/prefix".
// It loads the AWS configuration but sends no request: Check proves that
// the lake can be written.
func S3(ctx context.Context, location string, opts Options) (*S3Store, error) {
	bucket, prefix, err := parseS3(location)
	if err != nil {
		if strings.Contains(location, "@") {
			location = "s3://…" // it may hold credentials
		}
		return nil, fmt.Errorf("lake %s: %w", location, err)
	}
	endpoint, err := s3Endpoint(opts.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("lake %s: %w", location, err)
	}
	pathStyle := opts.PathStyle
	if !pathStyle {
		if v := os.Getenv("AFFLAKE_S3_PATH_STYLE"); v != "" {
			if pathStyle, err = strconv.ParseBool(v); err != nil {
				return nil, fmt.Errorf("lake %s: AFFLAKE_S3_PATH_STYLE=%q is not a boolean", location, v)
			}
		}
	}
	if !pathStyle && endpoint != "" {
		pathStyle = localHost(endpoint)
	}
	if opts.MultipartThreshold < 0 || opts.PartSize < 0 || (opts.PartSize > 0 && opts.PartSize < minPartSize) {
		return nil, fmt.Errorf("lake %s: part size must be at least 5 MiB and the multipart threshold not negative", location)
	}

	var loads []func(*config.LoadOptions) error
	if opts.Region != "" {
		loads = append(loads, config.WithRegion(opts.Region))
	}
	if opts.Credentials != nil {
		loads = append(loads, config.WithCredentialsProvider(opts.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("lake %s: aws configuration: %w", location, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = pathStyle
	})
	s := &S3Store{
		client:    client,
		creds:     cfg.Credentials,
		bucket:    bucket,
		prefix:    prefix,
		endpoint:  endpoint,
		tmpParent: opts.TempDir,
	}
	if prefix != "" {
		s.prefix = prefix + "/"
	}
	s.uploader = transfermanager.New(client, func(o *transfermanager.Options) {
		o.MultipartUploadThreshold = orDefault(opts.MultipartThreshold, DefaultMultipartThreshold)
		o.PartSizeBytes = orDefault(opts.PartSize, DefaultPartSize)
		// Abort a failed multipart upload even when ctx is cancelled.
		o.FailTimeout = 30 * time.Second
		o.RequestChecksumCalculation = cfg.RequestChecksumCalculation
	})
	return s, nil
}

// orDefault is v, or def when v is zero.
func orDefault(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

// hasS3Scheme reports whether location is an s3:// URL.
func hasS3Scheme(location string) bool {
	return len(location) >= 5 && strings.EqualFold(location[:5], "s3://")
}

// parseS3 splits "s3://bucket/prefix" into the bucket and the key prefix,
// without leading or trailing '/'.
func parseS3(location string) (bucket, prefix string, err error) {
	if !hasS3Scheme(location) {
		return "", "", errors.New("not an s3:// location")
	}
	bucket, prefix, _ = strings.Cut(location[5:], "/")
	if strings.Contains(bucket, "@") {
		return "", "", errors.New("credentials in the location are not supported (use the AWS credential chain)")
	}
	if err := checkBucket(bucket); err != nil {
		return "", "", err
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" {
		if strings.ContainsAny(prefix, "?#") {
			return "", "", fmt.Errorf("invalid prefix %q: contains '?' or '#'", prefix)
		}
		if err := CheckKey(prefix); err != nil {
			return "", "", fmt.Errorf("invalid prefix %q: empty, \".\" or \"..\" path segment, backslash or NUL", prefix)
		}
	}
	return bucket, prefix, nil
}

// checkBucket applies S3's bucket naming rules: 3 to 63 lower-case
// letters, digits, '.' and '-', starting and ending with a letter or a
// digit. Underscores, which some S3-compatible servers allow, are accepted.
func checkBucket(b string) error {
	if b == "" {
		return errors.New("no bucket name (want s3://bucket/prefix)")
	}
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("invalid bucket name %q: must be 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		switch {
		case alnum:
		case (c == '.' || c == '-' || c == '_') && i > 0 && i < len(b)-1:
		default:
			return fmt.Errorf("invalid bucket name %q: lower-case letters, digits, '.' and '-' only, starting and ending with a letter or digit", b)
		}
	}
	return nil
}

// s3Endpoint is the endpoint URL to use: explicit, else from the
// environment as the AWS SDKs read it, else "" (AWS S3).
func s3Endpoint(explicit string) (string, error) {
	ep, from := explicit, "endpoint"
	if ep == "" {
		if v, _ := strconv.ParseBool(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")); v {
			return "", nil
		}
		for _, name := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
			if v := os.Getenv(name); v != "" {
				ep, from = v, name
				break
			}
		}
	}
	if ep == "" {
		return "", nil
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s is not an http(s) URL", from)
	}
	if u.User != nil {
		return "", fmt.Errorf("%s must not hold credentials", from)
	}
	return strings.TrimSuffix(ep, "/"), nil
}

// localHost reports whether the endpoint's host is localhost or an IP
// address, where virtual-hosted bucket names cannot resolve.
func localHost(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return strings.EqualFold(h, "localhost") || net.ParseIP(h) != nil
}

// Bucket is the lake's bucket.
func (s *S3Store) Bucket() string { return s.bucket }

// Prefix is the lake's key prefix in the bucket: "" or ending in '/'.
func (s *S3Store) Prefix() string { return s.prefix }

// String is "s3://bucket/prefix", or "s3://bucket" without a prefix.
func (s *S3Store) String() string {
	if s.prefix == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}

// objectKey is the S3 key of key.
func (s *S3Store) objectKey(key string) string { return s.prefix + key }

// relKey is the lake key of the S3 key k, false if k is not under the
// prefix or is not a valid key (a "folder" marker ending in '/').
func (s *S3Store) relKey(k string) (string, bool) {
	rel, ok := strings.CutPrefix(k, s.prefix)
	if !ok || CheckKey(rel) != nil {
		return "", false
	}
	return rel, true
}

// url is the s3:// URL of key, for messages.
func (s *S3Store) url(key string) string {
	return "s3://" + s.bucket + "/" + s.prefix + key
}

// TempDir is a local directory, created on first use under
// Options.TempDir, where writers stage files before PutFile. Close removes
// it.
func (s *S3Store) TempDir() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tmp == "" {
		if d, err := os.MkdirTemp(s.tmpParent, "afflake-s3-"); err == nil {
			s.tmp, s.ownTmp = d, true
		} else {
			// Stage in the system's temporary directory itself; the
			// writer's own CreateTemp reports any real problem.
			s.tmp = os.TempDir()
		}
	}
	return s.tmp
}

// Close removes the staging directory and what is left in it.
func (s *S3Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ownTmp {
		return nil
	}
	err := os.RemoveAll(s.tmp)
	s.tmp, s.ownTmp = "", false
	return err
}

// Put stores data under key with one PUT.
func (s *S3Store) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.put(ctx, "put", key, data, nil)
	return err
}

func (s *S3Store) put(ctx context.Context, op, key string, data []byte, cond func(*s3.PutObjectInput)) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(s.objectKey(key)),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	}
	if cond != nil {
		cond(in)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		return "", s.fail(op, key, err)
	}
	return aws.ToString(out.ETag), nil
}

// PutFile uploads the file at path to key, in parts when it is at least
// Options.MultipartThreshold long, and removes the file once the object is
// complete. A failed upload leaves the file in place and no object.
func (s *S3Store) PutFile(ctx context.Context, key, path string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("put %s from %s: %w", s.url(key), path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("put %s from %s: %w", s.url(key), path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("put %s from %s: not a regular file", s.url(key), path)
	}
	_, err = s.uploader.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.objectKey(key)),
		Body:   f,
	})
	if err != nil {
		return s.fail("put", key, err)
	}
	f.Close()
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("put %s: uploaded, but the staged file remains: %w", s.url(key), err)
	}
	return nil
}

// Get reads the object under key.
func (s *S3Store) Get(ctx context.Context, key string) ([]byte, error) {
	b, _, err := s.get(ctx, "get", key)
	return b, err
}

// GetWithETag reads the object under key and returns its ETag, for
// PutIfMatch.
func (s *S3Store) GetWithETag(ctx context.Context, key string) ([]byte, string, error) {
	return s.get(ctx, "get", key)
}

func (s *S3Store) get(ctx context.Context, op, key string) ([]byte, string, error) {
	rc, etag, err := s.open(ctx, op, key)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, "", err
	}
	return b, etag, nil
}

// Open returns a reader of the object under key. Its read errors name the
// object.
func (s *S3Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, _, err := s.open(ctx, "open", key)
	return rc, err
}

func (s *S3Store) open(ctx context.Context, op, key string) (io.ReadCloser, string, error) {
	if err := CheckKey(key); err != nil {
		return nil, "", err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.objectKey(key)),
	})
	if err != nil {
		return nil, "", s.fail(op, key, err)
	}
	return &objectReader{body: out.Body, name: s.url(key)}, aws.ToString(out.ETag), nil
}

// objectReader names the object in its read errors.
type objectReader struct {
	body io.ReadCloser
	name string
}

func (r *objectReader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("read %s: %w", r.name, err)
	}
	return n, err
}

func (r *objectReader) Close() error { return r.body.Close() }

// Delete removes the object under key; a missing key is not an error.
func (s *S3Store) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.objectKey(key)),
	})
	if err != nil && !isCode(err, "NoSuchKey") {
		return s.fail("delete", key, err)
	}
	return nil
}

// List returns the keys that start with prefix, sorted, reading every page
// of ListObjectsV2. Objects whose names are not valid keys ("folder"
// markers ending in '/') are left out.
func (s *S3Store) List(ctx context.Context, prefix string) ([]string, error) {
	if strings.ContainsAny(prefix, "\\\x00") || strings.HasPrefix(prefix, "/") {
		return nil, fmt.Errorf("invalid prefix %q", prefix)
	}
	for seg := range strings.SplitSeq(prefix, "/") {
		if seg == ".." || seg == "." {
			return nil, fmt.Errorf("invalid prefix %q", prefix)
		}
	}
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket),
		Prefix: aws.String(s.objectKey(prefix)),
	})
	var keys []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", s.url(prefix), s.describe(err))
		}
		for _, o := range page.Contents {
			if k, ok := s.relKey(aws.ToString(o.Key)); ok {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// PutIfAbsent stores data under key only if there is no object there
// (If-None-Match: *); ErrPrecondition if there is.
func (s *S3Store) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	_, err := s.put(ctx, "put if absent", key, data, func(in *s3.PutObjectInput) {
		in.IfNoneMatch = aws.String("*")
	})
	return err
}

// PutIfMatch replaces the object under key only if its ETag is still etag
// (If-Match), and returns the new ETag; ErrPrecondition if the object has
// changed or is gone.
func (s *S3Store) PutIfMatch(ctx context.Context, key string, data []byte, etag string) (string, error) {
	if etag == "" {
		return "", fmt.Errorf("put if match %s: empty etag (use PutIfAbsent)", s.url(key))
	}
	newTag, err := s.put(ctx, "put if match", key, data, func(in *s3.PutObjectInput) {
		in.IfMatch = aws.String(etag)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("put if match %s: %w: the object is gone", s.url(key), ErrPrecondition)
	}
	return newTag, err
}

// Check proves that the lake can be written, before a run sends any
// request to a network: credentials are found, the bucket exists
// (HeadBucket), and _state/.probe can be written and deleted.
func (s *S3Store) Check(ctx context.Context) error {
	if s.creds == nil {
		return fmt.Errorf("lake %s: %w: no AWS credentials configured", s, ErrCredentials)
	}
	if _, err := s.creds.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("lake %s: %w", s, ctx.Err())
		}
		return fmt.Errorf("lake %s: %w: no usable AWS credentials (environment, profile or role): %v", s, ErrCredentials, err)
	}
	_, headErr := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	status := httpStatus(headErr)
	noBucket := status == http.StatusNotFound || isCode(headErr, "NoSuchBucket")
	if headErr != nil && !noBucket && status != http.StatusForbidden {
		return fmt.Errorf("lake %s: head bucket %q: %w", s, s.bucket, s.describe(headErr))
	}
	// A HEAD response has no body to tell bad credentials from a missing
	// bucket or permission (servers differ in what they answer), so the
	// probe's PUT, whose error has a code, decides.
	_, err := s.put(ctx, "put", probeKey, []byte("ok\n"), nil)
	switch {
	case err != nil && noBucket && !errors.Is(err, ErrCredentials):
		return fmt.Errorf("lake %s: head bucket: %w", s, &s3Error{
			msg:  fmt.Sprintf("bucket %q does not exist%s", s.bucket, s.at()),
			kind: ErrNoBucket,
			err:  headErr,
		})
	case err != nil:
		return fmt.Errorf("lake %s: %w", s, err)
	}
	if err := s.Delete(ctx, probeKey); err != nil {
		return fmt.Errorf("lake %s: %w", s, err)
	}
	if headErr != nil {
		return fmt.Errorf("lake %s: head bucket %q: %w (listing the lake needs s3:ListBucket)", s, s.bucket, s.describe(headErr))
	}
	return nil
}

// at names a custom endpoint, for messages.
func (s *S3Store) at() string {
	if s.endpoint == "" {
		return ""
	}
	return " at " + s.endpoint
}

// fail is the error of op on key: "get s3://bucket/prefix/key: …".
func (s *S3Store) fail(op, key string, err error) error {
	return fmt.Errorf("%s %s: %w", op, s.url(key), s.describe(err))
}

// s3Error is an S3 failure told in a few words. Unwrap gives the SDK's
// error (for errors.As) and the sentinel it stands for (for errors.Is).
type s3Error struct {
	msg  string
	kind error
	err  error
}

func (e *s3Error) Error() string { return e.msg }

func (e *s3Error) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// Error codes S3 and S3-compatible servers return for credentials they
// do not accept.
var credentialCodes = map[string]bool{
	"InvalidAccessKeyId":    true,
	"SignatureDoesNotMatch": true,
	"ExpiredToken":          true,
	"InvalidToken":          true,
	"TokenRefreshRequired":  true,
	"InvalidClientTokenId":  true,
	"XAdminUserNotFound":    true, // versitygw: unknown access key, HTTP 404
}

// describe turns an SDK error into a short message with the sentinel it
// stands for: fs.ErrNotExist, ErrNoBucket, ErrCredentials,
// ErrAccessDenied or ErrPrecondition. Credentials never appear in it.
func (s *S3Store) describe(err error) error {
	if err == nil {
		return nil
	}
	var (
		kind error
		msg  string
		api  smithy.APIError
	)
	status := httpStatus(err)
	switch {
	case errors.Is(err, context.Canceled):
		kind, msg = context.Canceled, context.Canceled.Error()
	case errors.Is(err, context.DeadlineExceeded):
		kind, msg = context.DeadlineExceeded, context.DeadlineExceeded.Error()
	case errors.As(err, &api):
		code := api.ErrorCode()
		text := code
		if m := api.ErrorMessage(); m != "" && m != code {
			text += ": " + m
		}
		switch {
		case credentialCodes[code]:
			kind, msg = ErrCredentials, "the credentials were rejected ("+text+")"
		case code == "AccessDenied" || code == "AllAccessDisabled" || status == http.StatusForbidden:
			kind, msg = ErrAccessDenied, "access denied ("+text+")"
		case code == "NoSuchBucket":
			kind, msg = ErrNoBucket, fmt.Sprintf("bucket %q does not exist%s", s.bucket, s.at())
		case code == "NoSuchKey" || status == http.StatusNotFound:
			kind, msg = fs.ErrNotExist, "no such object"
		case code == "PreconditionFailed" || status == http.StatusPreconditionFailed:
			kind, msg = ErrPrecondition, "precondition failed ("+text+")"
		case code == "ConditionalRequestConflict" || (status == http.StatusConflict && code != "BucketAlreadyExists"):
			kind, msg = ErrPrecondition, "precondition failed: a concurrent write ("+text+")"
		case status == http.StatusMovedPermanently || code == "PermanentRedirect":
			msg = "the bucket is in another region"
			if r := bucketRegion(err); r != "" {
				msg += " (" + r + "; set AWS_REGION)"
			}
		default:
			msg = text
			if status != 0 {
				msg += fmt.Sprintf(" (HTTP %d)", status)
			}
		}
	default:
		msg = transportError(err)
	}
	var attempts *retry.MaxAttemptsError
	if errors.As(err, &attempts) {
		msg += fmt.Sprintf(" (after %d attempts)", attempts.Attempt)
	}
	return &s3Error{msg: s.redact(msg), kind: kind, err: err}
}

// transportError is the network-level cause of err ("dial tcp …:
// connection refused", "unexpected EOF"), without the SDK's preamble.
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	var ne *net.OpError
	if errors.As(err, &ne) {
		return ne.Error()
	}
	return err.Error()
}

// redact removes the current credentials from msg: servers do not echo
// them, but nothing secret may reach a message.
func (s *S3Store) redact(msg string) string {
	if s.creds == nil {
		return msg
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := s.creds.Retrieve(ctx) // cached
	if err != nil {
		return msg
	}
	for _, secret := range []string{c.SecretAccessKey, c.SessionToken, c.AccessKeyID} {
		if len(secret) >= 4 {
			msg = strings.ReplaceAll(msg, secret, "[REDACTED]")
		}
	}
	return msg
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func bucketRegion(err error) string {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}

func isCode(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}
