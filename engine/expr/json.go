package expr

import (
	"fmt"
	"reflect"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/tidwall/gjson"
)

// object is a JSON object seen as a CEL map, read lazily: a field is
// converted only when an expression reads it. It holds only the
// object's text, so that it is comparable: CEL hashes the values it
// tests against constant lists (x in ['a', 'b']).
type object struct{ raw string }

// json is the object as gjson reads it.
func (o object) json() gjson.Result { return gjson.Result{Type: gjson.JSON, Raw: o.raw} }

var _ traits.Mapper = object{}

func (o object) find(key string) (gjson.Result, bool) {
	var out gjson.Result
	found := false
	o.json().ForEach(func(k, v gjson.Result) bool {
		if k.Str == key {
			out, found = v, true
			return false
		}
		return true
	})
	return out, found
}

// Find implements traits.Mapper.
func (o object) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	v, found := o.find(string(k))
	if !found {
		return nil, false
	}
	return FromJSON(v), true
}

// Get implements traits.Indexer.
func (o object) Get(key ref.Val) ref.Val {
	if v, ok := o.Find(key); ok {
		return v
	}
	return types.NewErr("no such key: %v", key.Value())
}

// Contains implements traits.Container.
func (o object) Contains(key ref.Val) ref.Val {
	_, ok := o.Find(key)
	return types.Bool(ok)
}

// Size implements traits.Sizer.
func (o object) Size() ref.Val {
	n := 0
	o.json().ForEach(func(_, _ gjson.Result) bool { n++; return true })
	return types.Int(n)
}

// Iterator implements traits.Iterable.
func (o object) Iterator() traits.Iterator {
	var keys []ref.Val
	o.json().ForEach(func(k, _ gjson.Result) bool {
		keys = append(keys, types.String(k.Str))
		return true
	})
	return &keyIter{keys: keys}
}

// ConvertToNative implements ref.Val.
func (o object) ConvertToNative(t reflect.Type) (any, error) {
	return o.eager().ConvertToNative(t)
}

// ConvertToType implements ref.Val.
func (o object) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return o
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from map to '%s'", t)
}

// Equal implements ref.Val.
func (o object) Equal(other ref.Val) ref.Val { return o.eager().Equal(other) }

// Type implements ref.Val.
func (o object) Type() ref.Type { return types.MapType }

// Value implements ref.Val.
func (o object) Value() any { return o.raw }

func (o object) eager() traits.Mapper {
	m := map[ref.Val]ref.Val{}
	o.json().ForEach(func(k, v gjson.Result) bool {
		m[types.String(k.Str)] = FromJSON(v)
		return true
	})
	return types.NewRefValMap(types.DefaultTypeAdapter, m)
}

type keyIter struct {
	keys []ref.Val
	i    int
}

func (it *keyIter) HasNext() ref.Val { return types.Bool(it.i < len(it.keys)) }
func (it *keyIter) Next() ref.Val {
	if it.i >= len(it.keys) {
		return nil
	}
	it.i++
	return it.keys[it.i-1]
}
func (it *keyIter) ConvertToNative(reflect.Type) (any, error) {
	return nil, fmt.Errorf("iterator cannot convert")
}
func (it *keyIter) ConvertToType(ref.Type) ref.Val { return types.NewErr("iterator cannot convert") }
func (it *keyIter) Equal(ref.Val) ref.Val          { return types.False }
func (it *keyIter) Type() ref.Type                 { return types.IteratorType }
func (it *keyIter) Value() any                     { return nil }
