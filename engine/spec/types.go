package spec

import (
	"encoding/json"
	"fmt"
)

// The Go form of a spec, decoded from CUE. Field meanings are documented
// in schemas/network.cue.

// Network is one network's spec as written.
type Network struct {
	Name        string                       `json:"name"`
	Title       string                       `json:"title"`
	Docs        string                       `json:"docs,omitempty"`
	BaseURL     string                       `json:"base_url"`
	Timezone    string                       `json:"timezone"`
	Auth        Auth                         `json:"auth"`
	Limits      Limits                       `json:"limits"`
	Window      Window                       `json:"window"`
	Request     Request                      `json:"request"`
	Pagination  Pagination                   `json:"pagination"`
	Report      *Report                      `json:"report,omitempty"`
	Response    Response                     `json:"response"`
	Tables      map[string]map[string]string `json:"tables,omitempty"`
	Columns     map[string]Column            `json:"columns,omitempty"`
	Transaction map[string]string            `json:"transaction"`
}

// Auth says how requests are authenticated.
type Auth struct {
	Kind string `json:"kind"`
	// api_key, bearer
	In     string `json:"in,omitempty"`
	Name   string `json:"name,omitempty"`
	Value  string `json:"value,omitempty"`
	Token  string `json:"token,omitempty"`
	Scheme string `json:"scheme,omitempty"`
	Param  string `json:"param,omitempty"`
	// basic, oauth2
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// oauth2
	Grant        string            `json:"grant,omitempty"`
	TokenURL     string            `json:"token_url,omitempty"`
	ClientAuth   string            `json:"client_auth,omitempty"`
	ClientID     string            `json:"client_id,omitempty"`
	ClientSecret string            `json:"client_secret,omitempty"`
	RefreshToken string            `json:"refresh_token,omitempty"`
	Scope        string            `json:"scope,omitempty"`
	Params       map[string]string `json:"params,omitempty"`
	TokenBody    string            `json:"token_body,omitempty"`
	// hmac
	Headers map[string]string `json:"headers,omitempty"`
	// session (token is shared with bearer)
	Login       *Request `json:"login,omitempty"`
	LoginFormat string   `json:"login_format,omitempty"`
	Expired     string   `json:"expired,omitempty"`
}

// Limits bound the requests sent with one credential.
type Limits struct {
	Rate          float64 `json:"rate"`
	Burst         int     `json:"burst"`
	Concurrency   int     `json:"concurrency"`
	Timeout       string  `json:"timeout"`
	Retries       int     `json:"retries"`
	MaxRetryAfter string  `json:"max_retry_after"`
}

// Window holds the date-window rules of the API.
type Window struct {
	MaxSpan      string `json:"max_span"`
	Timezone     string `json:"timezone"`
	Format       string `json:"format"`
	EndInclusive bool   `json:"end_inclusive"`
	Lookback     string `json:"lookback"`
	Initial      string `json:"initial"`
	Truncate     string `json:"truncate"`
}

// Request is one HTTP request, templated.
type Request struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]Values `json:"query,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    Body              `json:"body"`
}

// Values is a query parameter's value: one template, or a list of
// templates sent as repeated keys, in order.
type Values []string

// UnmarshalJSON reads a string or a list of strings.
func (v *Values) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*v = Values{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("a query value is a template or a list of templates")
	}
	if list == nil {
		list = []string{}
	}
	*v = list
	return nil
}

// MarshalJSON writes a single value as a string, as it was written.
func (v Values) MarshalJSON() ([]byte, error) {
	if len(v) == 1 {
		return json.Marshal(v[0])
	}
	return json.Marshal([]string(v))
}

// Body is a request body.
type Body struct {
	Kind        string            `json:"kind"`
	JSON        string            `json:"json,omitempty"`
	Form        map[string]string `json:"form,omitempty"`
	Query       string            `json:"query,omitempty"`
	Variables   map[string]string `json:"variables,omitempty"`
	Text        string            `json:"text,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
}

// Pagination says how to get from one page to the next.
type Pagination struct {
	Kind       string `json:"kind"`
	MaxPages   int    `json:"max_pages"`
	Param      string `json:"param,omitempty"`
	Start      int    `json:"start,omitempty"`
	SizeParam  string `json:"size_param,omitempty"`
	Size       int    `json:"size,omitempty"`
	TotalPages string `json:"total_pages,omitempty"`
	LimitParam string `json:"limit_param,omitempty"`
	Limit      int    `json:"limit,omitempty"`
	Total      string `json:"total,omitempty"`
	Next       string `json:"next,omitempty"`
	Done       string `json:"done,omitempty"`
	Rel        string `json:"rel,omitempty"`
}

// Report is a create → poll → download report job.
type Report struct {
	Create   Request `json:"create"`
	JobID    string  `json:"job_id"`
	Poll     Request `json:"poll"`
	Ready    string  `json:"ready"`
	Failed   string  `json:"failed,omitempty"`
	Every    string  `json:"every"`
	Timeout  string  `json:"timeout"`
	Format   string  `json:"format"`
	Download Request `json:"download"`
}

// Response says where the records are.
type Response struct {
	Format      string `json:"format"`
	Records     string `json:"records"`
	Error       string `json:"error,omitempty"`
	ErrorStatus []int  `json:"error_status,omitempty"`
	Delimiter   string `json:"delimiter,omitempty"`
	Element     string `json:"element,omitempty"`
	Unwind      string `json:"unwind,omitempty"`
	Charset     string `json:"charset,omitempty"`
}

// Column is a column of the network's own table.
type Column struct {
	Type string `json:"type"`
	Path string `json:"path,omitempty"`
	Expr string `json:"expr,omitempty"`
	Doc  string `json:"doc,omitempty"`
}
