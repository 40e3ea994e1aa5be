// Package spec loads network specs: CUE files checked against the
// schemas, decoded, and every CEL expression in them compiled and
// type-checked once, with errors reported at their line in the spec.
package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/afflake/afflake/engine/suggest"
)

// Set is the specs loaded from one directory.
type Set struct {
	Root  string           // the module root (the directory holding cue.mod)
	Specs map[string]*Spec // the specs that loaded without error, by name
	files map[string][]byte
}

// Names returns the loaded networks' names, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.Specs))
	for n := range s.Specs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Load reads the specs at paths (directories of .cue files, or files;
// default "specs"), checks them and compiles their expressions. It
// returns every spec that is valid and every error found: one broken
// spec does not stop the others from loading.
func Load(paths ...string) (*Set, Errors) {
	if len(paths) == 0 {
		paths = []string{"specs"}
	}
	files, err := specFiles(paths)
	if err != nil {
		return nil, Errors{{Msg: err.Error()}}
	}
	if len(files) == 0 {
		return nil, Errors{{Msg: fmt.Sprintf("no .cue files in %s", strings.Join(paths, ", "))}}
	}
	root, err := moduleRoot(filepath.Dir(files[0]))
	if err != nil {
		return nil, Errors{{Msg: err.Error()}}
	}
	set := &Set{Root: root, Specs: map[string]*Spec{}, files: map[string][]byte{}}
	var errs Errors
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, &Error{File: relPath(root, f), Msg: err.Error()})
			continue
		}
		set.files[f] = src
	}

	// A syntax error fails the whole package: report it and load again
	// without that file.
	ctx := cuecontext.New()
	var v cue.Value
	for {
		inst := load.Instances(files, &load.Config{Dir: root})[0]
		if inst.Err == nil {
			v = ctx.BuildInstance(inst)
			break
		}
		bad := map[string]bool{}
		for _, e := range cueErrors(inst.Err, root, cue.Value{}) {
			errs = append(errs, e)
			for _, f := range files {
				if relPath(root, f) == e.File {
					bad[f] = true
				}
			}
		}
		var keep []string
		for _, f := range files {
			if !bad[f] {
				keep = append(keep, f)
			}
		}
		if len(keep) == len(files) || len(keep) == 0 {
			return set, errs.Sort()
		}
		files = keep
	}

	owners := map[string]string{} // network name → file defining it
	for _, f := range files {
		for _, name := range declaredNetworks(f, set.files[f]) {
			want := strings.TrimSuffix(filepath.Base(f), ".cue")
			if name != want {
				errs = append(errs, &Error{File: relPath(root, f), Path: "networks." + name,
					Msg: fmt.Sprintf("network %q must be defined in %s.cue, not in %s", name, name, filepath.Base(f))})
				continue
			}
			owners[name] = f
		}
	}
	nets := v.LookupPath(cue.ParsePath("networks"))
	if !nets.Exists() {
		errs = append(errs, cueErrors(v.Err(), root, v)...)
		return set, errs.Sort()
	}
	it, err := nets.Fields()
	if err != nil {
		return set, append(errs, cueErrors(err, root, v)...).Sort()
	}
	for it.Next() {
		name := it.Selector().Unquoted()
		nv := it.Value()
		file, ok := owners[name]
		if !ok {
			continue // reported above
		}
		// Report the schema's errors, then go on as far as the spec can be
		// decoded so that its expressions' errors are reported too.
		verr := nv.Validate(cue.Concrete(true))
		if verr != nil {
			errs = append(errs, cueErrors(verr, root, nv)...)
		}
		var n Network
		if err := decodeFields(nv, &n); err != nil && verr == nil {
			errs = append(errs, cueErrors(err, root, nv)...)
			continue
		}
		sp := &Spec{Network: n, File: relPath(root, file)}
		canon, _ := json.Marshal(n)
		sum := sha256.Sum256(canon)
		sp.Hash = hex.EncodeToString(sum[:8])
		sp.columnOrder = fieldOrder(nv.LookupPath(cue.ParsePath("columns")))
		c := &compiler{spec: sp, value: nv, set: set, root: root}
		if cerrs := c.compile(); len(cerrs) > 0 || verr != nil {
			errs = append(errs, cerrs...)
			continue
		}
		set.Specs[name] = sp
	}
	return set, errs.Sort()
}

// LoadNetworks loads the specs of the named networks from dir: each
// network's own file (<name>.cue) and the files that declare no network
// (shared definitions), not the other specs. A command that needs a few
// networks so skips compiling the rest, and a broken spec elsewhere does
// not stop it. When a named network has no file of its own, or another
// file declares it too, the whole directory is loaded, so that the
// errors are the ones Load reports. Without names it is Load(dir).
func LoadNetworks(dir string, names ...string) (*Set, Errors) {
	if len(names) == 0 {
		return Load(dir)
	}
	all, err := filepath.Glob(filepath.Join(dir, "*.cue"))
	if err != nil || len(all) == 0 {
		return Load(dir)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = false
	}
	var files []string
	for _, f := range all {
		name := strings.TrimSuffix(filepath.Base(f), ".cue")
		if _, ok := want[name]; ok {
			want[name] = true
			files = append(files, f)
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			return Load(dir)
		}
		declared := declaredNetworks(f, src)
		for _, d := range declared {
			if _, ok := want[d]; ok {
				return Load(dir) // declared outside its own file: Load says so
			}
		}
		if len(declared) == 0 {
			files = append(files, f)
		}
	}
	for _, found := range want {
		if !found {
			return Load(dir)
		}
	}
	return Load(files...)
}

// decodeFields decodes each top-level field of the network on its own,
// so that one broken field leaves the others decoded.
func decodeFields(v cue.Value, n *Network) error {
	var first error
	rv := reflect.ValueOf(n).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		fv := v.LookupPath(cue.MakePath(cue.Str(name)))
		if !fv.Exists() {
			continue
		}
		err := fv.Decode(rv.Field(i).Addr().Interface())
		if ft := rt.Field(i).Type; err != nil && stringMap(ft) {
			rv.Field(i).Set(decodeEntries(fv, ft))
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// stringMap reports whether t is a map with string keys.
func stringMap(t reflect.Type) bool {
	return t.Kind() == reflect.Map && t.Key().Kind() == reflect.String
}

// decodeEntries decodes v into a map of type t entry by entry, keeping
// the entries that decode (a mapping's expressions, the columns), so that
// their own errors are reported too; the schema's errors name the others.
// A broken entry that is itself a map (a table with one bad value) keeps
// its good entries, so that it is still declared and expressions using
// it are not reported as using an undeclared name.
func decodeEntries(v cue.Value, t reflect.Type) reflect.Value {
	m := reflect.MakeMap(t)
	it, err := v.Fields()
	if err != nil {
		return m
	}
	for it.Next() {
		key := reflect.ValueOf(it.Selector().Unquoted()).Convert(t.Key())
		e := reflect.New(t.Elem())
		switch {
		case it.Value().Decode(e.Interface()) == nil:
			m.SetMapIndex(key, e.Elem())
		case stringMap(t.Elem()):
			m.SetMapIndex(key, decodeEntries(it.Value(), t.Elem()))
		}
	}
	return m
}

func fieldOrder(v cue.Value) []string {
	var out []string
	it, err := v.Fields()
	if err != nil {
		return nil
	}
	for it.Next() {
		out = append(out, it.Selector().Unquoted())
	}
	return out
}

func specFiles(paths []string) ([]string, error) {
	var files []string
	dirs := map[string]bool{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("spec path: %w", err)
		}
		if fi.IsDir() {
			m, _ := filepath.Glob(filepath.Join(abs, "*.cue"))
			files = append(files, m...)
			dirs[abs] = true
		} else {
			files = append(files, abs)
			dirs[filepath.Dir(abs)] = true
		}
	}
	if len(dirs) > 1 {
		return nil, fmt.Errorf("specs must all be in one directory")
	}
	sort.Strings(files)
	return files, nil
}

func moduleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(filepath.Join(d, "cue.mod")); err == nil && fi.IsDir() {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no cue.mod directory above %s: specs live in an afflake checkout", dir)
		}
	}
}

// declaredNetworks lists the networks a file sets (networks: X: …).
func declaredNetworks(file string, src []byte) []string {
	f, err := parser.ParseFile(file, src)
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.Field)
		if !ok || labelName(fd.Label) != "networks" {
			continue
		}
		if st, ok := fd.Value.(*ast.StructLit); ok {
			for _, e := range st.Elts {
				if nf, ok := e.(*ast.Field); ok {
					out = append(out, labelName(nf.Label))
				}
			}
		}
	}
	return out
}

func labelName(l ast.Label) string {
	name, _, _ := ast.LabelName(l)
	return name
}

// cueErrors converts CUE errors. The position is the erroneous field's
// own place in a spec file when base (the value the error's path is
// relative to) can tell it, else the last position inside a spec file.
func cueErrors(err error, root string, base cue.Value) Errors {
	if err == nil {
		return nil
	}
	var out Errors
	seen := map[string]bool{}
	var def cue.Value // #Network, read once a field is not allowed
	defRead := false
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		path := e.Path()
		if msg == "field not allowed" {
			// CUE reports a misspelt struct field once for each field
			// inside it: report it once, at the field itself.
			if !defRead {
				def, defRead = networkSchema(root), true
			}
			var known []string
			path, known = unknownField(def, path)
			key := strings.Join(path, ".")
			if seen[key] {
				continue
			}
			seen[key] = true
			if best := suggest.Closest(path[len(path)-1], known, false); best != "" {
				msg += fmt.Sprintf("; did you mean %s?", best)
			}
		}
		var pos token.Pos
		for _, p := range cueerrors.Positions(e) {
			if !p.IsValid() {
				continue
			}
			if !pos.IsValid() || (!inSchemas(p) && (inSchemas(pos) || p.Line() > pos.Line())) {
				pos = p
			}
		}
		if fp := fieldPos(base, path); fp.IsValid() && !inSchemas(fp) {
			pos = fp
		}
		if !pos.IsValid() && strings.Contains(msg, "errors in empty disjunction") {
			continue // a summary of errors reported on their own
		}
		ce := &Error{Path: strings.Join(path, "."), Msg: msg}
		if pos.IsValid() {
			ce.File, ce.abs = relPath(root, pos.Filename()), pos.Filename()
			ce.Line, ce.Col = pos.Line(), pos.Column()
		}
		out = append(out, ce)
	}
	return out
}

func inSchemas(p token.Pos) bool {
	return strings.Contains(filepath.ToSlash(p.Filename()), "/schemas/")
}

// networkSchema returns #Network from the schemas package of the
// checkout at root, or a value that does not exist when it cannot be
// read.
func networkSchema(root string) cue.Value {
	insts := load.Instances([]string{"./schemas"}, &load.Config{Dir: root})
	if len(insts) == 0 || insts[0].Err != nil {
		return cue.Value{}
	}
	return cuecontext.New().BuildInstance(insts[0]).LookupPath(cue.ParsePath("#Network"))
}

// unknownField returns the shortest prefix of path (networks.<name>.…)
// that names a field #Network does not declare, or path itself, with the
// fields the schema declares beside it when it can tell them.
func unknownField(def cue.Value, path []string) ([]string, []string) {
	if !def.Exists() || len(path) < 3 || path[0] != "networks" {
		return path, nil
	}
	v := def
	for i := 2; i < len(path); i++ {
		f, known := schemaField(v, path[i])
		if !known {
			return path[:i+1], fieldNames(v)
		}
		if !f.Exists() || i == len(path)-1 {
			return path, nil // the schema cannot tell
		}
		v = f
	}
	return path, nil
}

// fieldNames are the fields struct v declares.
func fieldNames(v cue.Value) []string {
	var out []string
	if it, err := v.Fields(cue.Optional(true)); err == nil {
		for it.Next() {
			out = append(out, it.Selector().Unquoted())
		}
	}
	return out
}

// schemaField returns the schema of field name of struct v, and whether
// v allows the field. An invalid value means the schema of the field
// cannot be told (a disjunction, a value that is not a struct); such a
// field counts as allowed.
func schemaField(v cue.Value, name string) (cue.Value, bool) {
	if op, _ := v.Expr(); op == cue.OrOp || v.IncompleteKind() != cue.StructKind {
		return cue.Value{}, true
	}
	if !v.Allows(cue.Str(name)) {
		return cue.Value{}, false
	}
	if it, err := v.Fields(cue.Optional(true)); err == nil {
		for it.Next() {
			if it.Selector().Unquoted() == name {
				return it.Value(), true
			}
		}
	}
	// A field a pattern allows ([#Name]: #Column) has the pattern's schema.
	return v.LookupPath(cue.MakePath(cue.Str(name).Optional())), true
}

// fieldPos finds the position of the field at an error's path. Paths
// are absolute (networks.<name>.…); base may be the whole package or one
// network.
func fieldPos(base cue.Value, path []string) token.Pos {
	if !base.Exists() || len(path) == 0 {
		return token.NoPos
	}
	sels := make([]cue.Selector, len(path))
	for i, p := range path {
		sels[i] = cue.Str(p)
	}
	if v := base.LookupPath(cue.MakePath(sels...)); v.Exists() {
		return v.Pos()
	}
	if len(path) > 2 && path[0] == "networks" {
		if v := base.LookupPath(cue.MakePath(sels[2:]...)); v.Exists() {
			return v.Pos()
		}
	}
	return token.NoPos
}
