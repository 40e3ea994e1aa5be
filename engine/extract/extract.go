// Package extract finds the records in a response body.
package extract

import (
	"encoding/json"
	"errors"
	"fmt"
	"unsafe"

	"github.com/tidwall/gjson"
)

// ErrBody marks a body that cannot be read at all; nothing of it is
// mapped.
var ErrBody = errors.New("unreadable body")

// BodyError says why a body could not be read, and where.
type BodyError struct {
	Offset int64 // byte offset of the problem, -1 if unknown
	Msg    string
}

func (e *BodyError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("not valid JSON at byte %d: %s", e.Offset, e.Msg)
	}
	return e.Msg
}

func (e *BodyError) Unwrap() error { return ErrBody }

// Parse checks that body is valid JSON and returns its root. The body is
// not copied: results reference it, so the caller must not modify it.
func Parse(body []byte) (gjson.Result, error) {
	if !gjson.ValidBytes(body) {
		return gjson.Result{}, syntaxError(body)
	}
	if len(body) == 0 {
		return gjson.Result{}, &BodyError{Offset: 0, Msg: "empty body"}
	}
	return gjson.Parse(unsafe.String(&body[0], len(body))), nil
}

func syntaxError(body []byte) error {
	var v json.RawMessage
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &BodyError{Offset: se.Offset, Msg: se.Error()}
	}
	if err != nil {
		return &BodyError{Offset: int64(len(body)), Msg: err.Error()}
	}
	if len(body) == 0 {
		return &BodyError{Offset: 0, Msg: "empty body"}
	}
	return &BodyError{Offset: -1, Msg: "not valid JSON"}
}

// Records returns the record array at path ("" for a top-level array).
func Records(root gjson.Result, path string) (gjson.Result, error) {
	arr := root
	if path != "" {
		arr = root.Get(path)
	}
	if !arr.IsArray() {
		where := "the body"
		if path != "" {
			where = fmt.Sprintf("records path %q", path)
		}
		what := "nothing"
		if arr.Exists() {
			what = arr.Type.String()
			if arr.IsObject() {
				what = "an object"
			}
		}
		return gjson.Result{}, &BodyError{Offset: -1, Msg: fmt.Sprintf("%s holds %s, not an array of records", where, what)}
	}
	return arr, nil
}

// Each calls fn for each record of arr with its index; it stops at the
// first error fn returns.
func Each(arr gjson.Result, fn func(i int, rec gjson.Result) error) error {
	i := 0
	var err error
	arr.ForEach(func(_, rec gjson.Result) bool {
		err = fn(i, rec)
		i++
		return err == nil
	})
	return err
}
