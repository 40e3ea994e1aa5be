package config

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"

	"github.com/afflake/afflake/engine/spec"
	"github.com/afflake/afflake/schemas"
)

// schemaDir is where the embedded schema files appear to be; it names
// no real directory.
const schemaDir = "/afflake/schemas"

// compileSchema builds the embedded schemas package.
func compileSchema(ctx *cue.Context) (cue.Value, error) {
	names, err := fs.Glob(schemas.FS, "*.cue")
	if err != nil {
		return cue.Value{}, err
	}
	overlay := map[string]load.Source{}
	files := make([]string, 0, len(names))
	for _, n := range names {
		src, err := schemas.FS.ReadFile(n)
		if err != nil {
			return cue.Value{}, err
		}
		f := path.Join(schemaDir, n)
		overlay[f] = load.FromBytes(src)
		files = append(files, f)
	}
	insts := load.Instances(files, &load.Config{Dir: schemaDir, Overlay: overlay})
	if err := insts[0].Err; err != nil {
		return cue.Value{}, err
	}
	v := ctx.BuildInstance(insts[0])
	return v, v.Err()
}

// cueErrors converts CUE errors into positioned errors. The position is
// the erroneous field's place in the user's file, or its closest
// enclosing field's when the field is missing there (a required id), or
// else the last position in the file that CUE names.
func cueErrors(err error, file string, user cue.Value) spec.Errors {
	var out spec.Errors
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		p := e.Path()
		if len(p) > 0 && p[0] == "#Config" {
			p = p[1:]
		}
		pos, rendered := walk(user, p, file)
		if !pos.IsValid() {
			for _, q := range cueerrors.Positions(e) {
				if q.IsValid() && q.Filename() == file {
					pos = q
				}
			}
		}
		if !pos.IsValid() && strings.Contains(msg, "errors in empty disjunction") {
			continue // a summary of errors reported on their own
		}
		ce := &spec.Error{File: file, Path: rendered, Msg: msg}
		if pos.IsValid() {
			ce.Line, ce.Col = pos.Line(), pos.Column()
		}
		out = append(out, ce)
	}
	return out
}

// userPos is the position of path in the user's file (see walk).
func userPos(user cue.Value, path []string, file string) token.Pos {
	pos, _ := walk(user, path, file)
	return pos
}

// walk follows path in the user's value. It returns the position of
// the deepest field on the path that the user's file holds, and the
// path written with list indices in brackets:
// accounts.example[0].secrets.token.
func walk(user cue.Value, path []string, file string) (token.Pos, string) {
	var b strings.Builder
	pos := token.NoPos
	cur, found := user, user.Exists()
	for _, elem := range path {
		i, err := strconv.Atoi(elem)
		isIndex := err == nil && i >= 0
		if found {
			next := cur.LookupPath(cue.MakePath(cue.Str(elem)))
			if isIndex {
				if at := cur.LookupPath(cue.MakePath(cue.Index(i))); at.Exists() || !next.Exists() {
					next = at
				} else {
					isIndex = false // a field named by digits
				}
			}
			cur = next
			found = cur.Exists()
			if p := cur.Pos(); found && p.IsValid() && p.Filename() == file {
				pos = p
			}
		}
		switch {
		case isIndex:
			fmt.Fprintf(&b, "[%d]", i)
		case b.Len() > 0:
			b.WriteString(".")
			b.WriteString(elem)
		default:
			b.WriteString(elem)
		}
	}
	return pos, b.String()
}

// render writes path the way errors show it.
func render(user cue.Value, path []string) string {
	_, s := walk(user, path, "")
	return s
}
