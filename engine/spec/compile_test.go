package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Directories of test specs, absolute: another test changes directory.
var (
	badDir, _      = filepath.Abs(filepath.Join("testdata", "bad"))
	featuresDir, _ = filepath.Abs(filepath.Join("..", "fetch", "testdata", "specs"))
)

// TestFeatureErrors checks the errors of the spec features the schema
// cannot check (CSV delimiter, XML element, unwind, error_status, report
// and session expressions, query lists) and misspelt fields (a misspelt
// struct once, not once per field inside it), each at its place in the
// spec, against testdata/bad.golden (AFFLAKE_UPDATE=1 rewrites it).
func TestFeatureErrors(t *testing.T) {
	_, errs := Load(badDir)
	var b strings.Builder
	for _, e := range errs {
		ee := *e
		ee.File = filepath.Base(e.File) // whatever the working directory
		b.WriteString(ee.Error())
		b.WriteByte('\n')
	}
	golden := filepath.Join(filepath.Dir(badDir), "bad.golden")
	if os.Getenv("AFFLAKE_UPDATE") != "" {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestFeaturesCompile checks what the engine gets from the features'
// specs: list query values, the session's programs, the report job,
// error statuses.
func TestFeaturesCompile(t *testing.T) {
	set, errs := Load(featuresDir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	// window.lookback and initial default when a spec leaves them out.
	if sp := set.Specs["csvpaged"]; sp.Lookback != 30*24*time.Hour || sp.Initial != 90*24*time.Hour {
		t.Errorf("default lookback %v and initial %v, want 720h and 2160h", sp.Lookback, sp.Initial)
	}
	var got []string
	for _, p := range set.Specs["csvpaged"].Query {
		got = append(got, fmt.Sprintf("%s:%d:%v", p.Name, len(p.List), p.T != nil))
	}
	if want := "fields[]:3:true from:0:true status:3:true"; strings.Join(got, " ") != want {
		t.Errorf("query params %q, want %q", strings.Join(got, " "), want)
	}
	soap := set.Specs["soapsession"]
	if soap.Login == nil || soap.Login.Site != "auth.login" || soap.SessionToken == nil || soap.Expired == nil || soap.LoginFormat != "xml" {
		t.Errorf("session: login %+v, token %v, expired %v, format %q", soap.Login, soap.SessionToken, soap.Expired, soap.LoginFormat)
	}
	if !soap.ErrorStatus[500] || len(soap.ErrorStatus) != 1 || soap.ErrorExpr == nil || soap.Body.ContentType != "text/xml; charset=utf-8" {
		t.Errorf("SOAP base: error_status %v, error %v, content type %q", soap.ErrorStatus, soap.ErrorExpr, soap.Body.ContentType)
	}
	if c := set.Specs["cookie"]; c.LoginFormat != "text" {
		t.Errorf("cookie login format %q, want text", c.LoginFormat)
	}
	job := set.Specs["reportjob"].Job
	if job == nil || job.Every.String() != "5s" || job.Timeout.String() != "1m0s" || job.Format != "json" ||
		job.Create.Method != "POST" || job.Poll.Path == nil || job.Download.Site != "report.download" || job.Failed == nil {
		t.Errorf("report job %+v", job)
	}
	if got := strings.Join(set.Specs["refresh"].Origins(), " "); got != "http://127.0.0.1:1 https://auth.example.test" {
		t.Errorf("refresh origins %q, want base_url's and the token endpoint's", got)
	}
	if got := strings.Join(set.Specs["soapsession"].Origins(), " "); got != "http://127.0.0.1:1" {
		t.Errorf("soapsession origins %q, want base_url's only (the login is on base_url)", got)
	}
	if set.Specs["refresh"].Auth.TokenBody != "json" {
		t.Errorf("token_body %q, want json", set.Specs["refresh"].Auth.TokenBody)
	}
}
