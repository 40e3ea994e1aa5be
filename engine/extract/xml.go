package extract

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// xsiNS is the XML Schema instance namespace (xsi:type, xsi:nil).
const xsiNS = "http://www.w3.org/2001/XMLSchema-instance"

// maxXMLDepth bounds element nesting.
const maxXMLDepth = 1000

// XML converts an XML body into JSON: the document is an object holding
// its root element. Element and attribute names lose their namespace
// prefix. An element with neither attributes nor child elements is its
// text, as written (xsi:nil="true" makes it null); any other element is
// an object holding its attributes as "@name", its child elements by
// name (a name repeated among siblings becomes an array, in document
// order) and its non-blank text, trimmed, as "#text". Namespace
// declarations and xsi:* attributes are dropped.
//
// element is the path of the record element from the root, e.g.
// [Envelope Body getTransactionsResponse return item]: wherever its
// parent occurs, the record element is always an array, empty when the
// parent has no such child, so that one record and none read like many.
func XML(body []byte, element []string) ([]byte, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = charsetReader
	doc := &xnode{onPath: true}
	if len(element) == 1 {
		doc.force = element[0]
	}
	stack := []*xnode{doc}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlError(d, err)
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			depth := len(stack) // of the new element, the root being 1
			if depth > maxXMLDepth {
				return nil, &BodyError{Format: "XML", Offset: d.InputOffset(), Msg: fmt.Sprintf("elements nested more than %d deep", maxXMLDepth)}
			}
			n := &xnode{name: t.Name.Local}
			n.onPath = top.onPath && depth <= len(element) && n.name == element[depth-1]
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns"):
				case a.Name.Space == xsiNS || a.Name.Space == "xsi":
					if a.Name.Local == "nil" && (a.Value == "true" || a.Value == "1") {
						n.null = true
					}
				default:
					n.attrs = append(n.attrs, [2]string{"@" + a.Name.Local, a.Value})
				}
			}
			if n.onPath && depth == len(element)-1 {
				n.force = element[len(element)-1]
			}
			top.add(n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 1 {
				top.text = append(top.text, t...)
			}
		}
	}
	if len(stack) != 1 {
		return nil, &BodyError{Format: "XML", Offset: d.InputOffset(), Msg: "unexpected end of the body"}
	}
	if len(doc.kids) == 0 {
		return nil, &BodyError{Format: "XML", Offset: d.InputOffset(), Msg: "no element"}
	}
	out := make([]byte, 0, len(body))
	return doc.appendObject(out), nil
}

// charsetReader reads the encodings a document may declare besides
// UTF-8 (ISO-8859-1, windows-1252, …).
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(label)
	if err != nil {
		return nil, fmt.Errorf("unknown encoding %q", label)
	}
	return enc.NewDecoder().Reader(in), nil
}

func xmlError(d *xml.Decoder, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &BodyError{Format: "XML", Line: se.Line, Offset: -1, Msg: se.Msg}
	}
	return &BodyError{Format: "XML", Offset: d.InputOffset(), Msg: err.Error()}
}

// xnode is an element being read.
type xnode struct {
	name   string
	attrs  [][2]string
	kids   []*xgroup // child elements by name, in order of first appearance
	index  map[string]*xgroup
	text   []byte
	null   bool
	onPath bool   // on the path to the record element
	force  string // the record element's name, when n is its parent
}

// xgroup is the child elements of one name.
type xgroup struct {
	name  string
	nodes []*xnode
	array bool // written as an array even with one element
}

func (n *xnode) group(name string) *xgroup {
	if n.index != nil {
		if g, ok := n.index[name]; ok {
			return g
		}
	} else {
		for _, g := range n.kids {
			if g.name == name {
				return g
			}
		}
	}
	g := &xgroup{name: name}
	n.kids = append(n.kids, g)
	if n.index == nil && len(n.kids) > 16 {
		n.index = make(map[string]*xgroup, 2*len(n.kids))
		for _, k := range n.kids {
			n.index[k.name] = k
		}
	} else if n.index != nil {
		n.index[name] = g
	}
	return g
}

// has reports whether n has children named name.
func (n *xnode) has(name string) bool {
	if n.index != nil {
		return n.index[name] != nil
	}
	for _, g := range n.kids {
		if g.name == name {
			return true
		}
	}
	return false
}

func (n *xnode) add(k *xnode) {
	g := n.group(k.name)
	g.array = g.array || k.name == n.force
	g.nodes = append(g.nodes, k)
}

func (n *xnode) appendValue(out []byte) []byte {
	if len(n.attrs) == 0 && len(n.kids) == 0 && n.force == "" {
		if n.null {
			return append(out, "null"...)
		}
		return appendString(out, string(n.text))
	}
	return n.appendObject(out)
}

func (n *xnode) appendObject(out []byte) []byte {
	out = append(out, '{')
	first := true
	key := func(k string) {
		if !first {
			out = append(out, ',')
		}
		first = false
		out = appendString(out, k)
		out = append(out, ':')
	}
	for _, a := range n.attrs {
		key(a[0])
		out = appendString(out, a[1])
	}
	for _, g := range n.kids {
		key(g.name)
		if len(g.nodes) == 1 && !g.array {
			out = g.nodes[0].appendValue(out)
			continue
		}
		out = append(out, '[')
		for i, k := range g.nodes {
			if i > 0 {
				out = append(out, ',')
			}
			out = k.appendValue(out)
		}
		out = append(out, ']')
	}
	if n.force != "" && !n.has(n.force) {
		key(n.force)
		out = append(out, '[', ']')
	}
	if t := strings.TrimSpace(string(n.text)); t != "" {
		key("#text")
		out = appendString(out, t)
	}
	return append(out, '}')
}

// ElementPath splits response.element into element names.
func ElementPath(element string) []string {
	if element == "" {
		return nil
	}
	return strings.Split(element, ".")
}
