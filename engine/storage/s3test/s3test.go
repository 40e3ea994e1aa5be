// Package s3test runs a real S3-protocol server, versitygw, for tests:
// found on PATH or in GOPATH/bin, started over a temporary directory on a
// free port of 127.0.0.1.
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Install is the command that installs the server.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Require, when "1" in the environment, turns a missing server from a
// skip into a failure (CI installs it).
const Require = "AFFLAKE_REQUIRE_S3"

// Server is a running versitygw.
type Server struct {
	Endpoint, Key, Secret string
	cmd                   *exec.Cmd
	bin, addr, dir        string
	log                   *bytes.Buffer
	// exited is closed once the server's process has ended and its
	// output is read: the one place that waits for it.
	exited chan struct{}
}

// Bin finds versitygw on PATH or in GOPATH/bin; "" when absent.
func Bin() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(gp, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// Start starts bin's posix gateway and waits until it answers.
func Start(bin string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	dir, err := os.MkdirTemp("", "afflake-versitygw-")
	if err != nil {
		return nil, err
	}
	v := &Server{Endpoint: "http://" + addr, Key: "afflake-test", Secret: "afflake-test-secret", dir: dir, bin: bin, addr: addr}
	if err := v.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return v, nil
}

// Restart starts a killed server again, on the same port and data.
func (v *Server) Restart() error { return v.start() }

func (v *Server) start() error {
	bin, addr, dir := v.bin, v.addr, v.dir
	v.log = new(bytes.Buffer)
	v.cmd = exec.Command(bin, "--access", v.Key, "--secret", v.Secret, "--region", "us-east-1",
		"--port", addr, "--quiet", "posix", dir)
	v.cmd.Stdout, v.cmd.Stderr = v.log, v.log
	// The server runs in its own process group, which Kill ends whole, and
	// Wait does not wait on its output for longer than WaitDelay: a
	// process left holding the output pipe must not hang a test.
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	v.cmd.WaitDelay = 5 * time.Second
	if err := v.cmd.Start(); err != nil {
		return err
	}
	cmd, exited := v.cmd, make(chan struct{})
	v.exited = exited
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(v.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("versitygw exited: %s", v.log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			v.Kill()
			return fmt.Errorf("versitygw does not answer on %s: %s", addr, v.log)
		}
	}
}

// Own starts a server for t alone, stopped when t ends; it skips t when
// versitygw is not installed (fails it when Require is set).
func Own(t testing.TB) *Server {
	t.Helper()
	bin := Bin()
	if bin == "" {
		msg := "versitygw is not installed: `" + Install + "`"
		if os.Getenv(Require) == "1" {
			t.Fatalf("%s=1: %s", Require, msg)
		}
		t.Skip(msg)
	}
	v, err := Start(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Stop)
	return v
}

// Lake starts a server of t's own, points the AWS SDK of this process at
// it and creates bucket: s3://bucket/… is then a lake for t.
func Lake(t testing.TB, bucket string) *Server {
	t.Helper()
	v := Own(t)
	v.Env(t)
	if err := v.CreateBucket(context.Background(), bucket); err != nil {
		t.Fatal(err)
	}
	return v
}

// Kill stops the server abruptly, keeping its data: a failure mid-run.
func (v *Server) Kill() {
	if v.exited == nil {
		return
	}
	select {
	case <-v.exited:
		return
	default:
	}
	syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
	<-v.exited
}

// Stop kills the server and removes its directory.
func (v *Server) Stop() {
	v.Kill()
	if v.dir != "" {
		os.RemoveAll(v.dir)
	}
}

// Client is an S3 client of the server.
func (v *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(v.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(v.Key, v.Secret, ""),
	})
}

// CreateBucket creates a bucket.
func (v *Server) CreateBucket(ctx context.Context, name string) error {
	_, err := v.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	return err
}

// Env points the AWS SDK of this process at the server for t.
func (v *Server) Env(t testing.TB) {
	t.Setenv("AWS_ENDPOINT_URL_S3", v.Endpoint)
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ACCESS_KEY_ID", v.Key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", v.Secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
}
