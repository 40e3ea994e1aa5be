package fetch

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/expr"
	"github.com/afflake/afflake/engine/extract"
	"github.com/afflake/afflake/engine/spec"
)

// next works out the page after st from its response; more is false
// when st was the last page.
func (f *fetcher) next(st pageState, b *built, doc extract.Doc, res *exchangeResult) (next pageState, more bool, err error) {
	pg := f.sp.Pagination
	root := doc.Root
	next = st
	next.seq++
	switch pg.Kind {
	case "", "none":
		return next, false, nil

	case "page":
		n, err := f.records(doc)
		if err != nil {
			return next, false, err
		}
		if n == 0 {
			return next, false, nil
		}
		if f.sp.TotalPages != nil {
			total, ok, err := f.evalInt(f.sp.TotalPages, "pagination.total_pages", root, res, st)
			if err != nil {
				return next, false, err
			}
			if ok && st.number-pg.Start+1 >= total {
				return next, false, nil
			}
		}
		next.number++
		next.offset += n
		return next, true, nil

	case "offset":
		n, err := f.records(doc)
		if err != nil {
			return next, false, err
		}
		if n == 0 {
			return next, false, nil
		}
		// The total, when the response gives it, decides: an API that
		// caps its pages below the limit asked for sends short pages
		// that are not the last. Without it, a short page is the last.
		counted := false
		if f.sp.Total != nil {
			total, ok, err := f.evalInt(f.sp.Total, "pagination.total", root, res, st)
			if err != nil {
				return next, false, err
			}
			if ok && st.offset+n >= total {
				return next, false, nil
			}
			counted = ok
		}
		if !counted && n < pg.Limit {
			return next, false, nil
		}
		next.offset += n
		next.number++
		return next, true, nil

	case "next_url":
		if st.seq == 1 {
			f.seen[b.url] = true
		}
		s, err := f.evalText(f.sp.Next, "pagination.next", root, res, st)
		if err != nil || s == "" {
			return next, false, err
		}
		u, err := f.resolve(s)
		if err != nil {
			return next, false, fmt.Errorf("%w: pagination.next %q: %w", ErrBadResponse, s, err)
		}
		if f.seen[u] {
			return next, false, fmt.Errorf("%w: next URL %q repeated at page %d", ErrPaginationLoop, u, st.seq)
		}
		f.seen[u] = true
		next.url = u
		next.number++
		return next, true, nil

	case "cursor":
		if f.sp.Done != nil {
			v, err := f.eval(f.sp.Done, "pagination.done", root, res, st)
			if err != nil {
				return next, false, err
			}
			if v == types.True {
				return next, false, nil
			}
		}
		s, err := f.evalText(f.sp.Next, "pagination.next", root, res, st)
		if err != nil || s == "" {
			return next, false, err
		}
		if f.seen[s] || s == st.cursor {
			return next, false, fmt.Errorf("%w: cursor %q repeated at page %d", ErrPaginationLoop, s, st.seq)
		}
		f.seen[s] = true
		next.cursor = s
		next.number++
		return next, true, nil

	case "link_header":
		if st.seq == 1 {
			f.seen[b.url] = true
		}
		rel := pg.Rel
		if rel == "" {
			rel = "next"
		}
		target := ""
		for _, h := range res.header.Values("Link") {
			if target = linkTarget(h, rel); target != "" {
				break
			}
		}
		if target == "" {
			return next, false, nil
		}
		ctxURL, err := url.Parse(b.url)
		if err != nil {
			return next, false, err
		}
		ref, err := url.Parse(target)
		if err != nil {
			return next, false, fmt.Errorf("%w: Link %q: %w", ErrBadResponse, target, err)
		}
		u := ctxURL.ResolveReference(ref).String()
		if f.seen[u] {
			return next, false, fmt.Errorf("%w: next URL %q repeated at page %d", ErrPaginationLoop, u, st.seq)
		}
		f.seen[u] = true
		next.url = u
		next.number++
		return next, true, nil
	}
	return next, false, fmt.Errorf("pagination kind %q: %w", pg.Kind, ErrUnsupported)
}

// records counts the records of a page (before any unwind); a missing
// or null records field is an empty page.
func (f *fetcher) records(doc extract.Doc) (int, error) {
	path := doc.RecordsPath()
	arr := doc.Root
	if path != "" {
		arr = doc.Root.Get(path)
	}
	if !arr.Exists() || arr.Type == gjson.Null {
		return 0, nil
	}
	if !arr.IsArray() {
		where := "the body"
		if path != "" {
			where = fmt.Sprintf("response.records %q", path)
		}
		return 0, fmt.Errorf("%w: %s is %s, not an array of records", ErrBadResponse, where, kindOf(arr))
	}
	n := 0
	arr.ForEach(func(_, _ gjson.Result) bool { n++; return true })
	return n, nil
}

func kindOf(r gjson.Result) string {
	switch {
	case r.IsObject():
		return "an object"
	case r.Type == gjson.String:
		return "a string"
	case r.Type == gjson.Number:
		return "a number"
	}
	return r.Type.String()
}

// resolve turns a next URL into an absolute one: absolute URLs as they
// are, others appended to the base URL (APIs give paths from their root).
func (f *fetcher) resolve(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if u.IsAbs() {
		return u.String(), nil
	}
	if strings.HasPrefix(s, "?") {
		return "", fmt.Errorf("a bare query is not a page URL")
	}
	full := f.base + "/" + strings.TrimLeft(s, "/")
	if _, err := url.Parse(full); err != nil {
		return "", err
	}
	return full, nil
}

// eval evaluates a response-scope program; a field missing from the
// response reads as null.
func (f *fetcher) eval(p *expr.Program, site string, root gjson.Result, res *exchangeResult, st pageState) (ref.Val, error) {
	v, err := p.Eval(responseVars(root, res, st))
	if err != nil {
		if missing(err) {
			return types.NullValue, nil
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrBadResponse, site, err)
	}
	return v, nil
}

// evalText evaluates to text; null is "".
func (f *fetcher) evalText(p *expr.Program, site string, root gjson.Result, res *exchangeResult, st pageState) (string, error) {
	v, err := f.eval(p, site, root, res, st)
	if err != nil {
		return "", err
	}
	s, err := spec.Text(v)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrBadResponse, site, err)
	}
	return strings.TrimSpace(s), nil
}

// evalInt evaluates to an integer; ok is false for null.
func (f *fetcher) evalInt(p *expr.Program, site string, root gjson.Result, res *exchangeResult, st pageState) (int, bool, error) {
	s, err := f.evalText(p, site, root, res, st)
	if err != nil || s == "" {
		return 0, false, err
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %s: %q is not a number", ErrBadResponse, site, s)
	}
	return int(n), true, nil
}

// linkTarget returns the target of the first link in an RFC 8288 Link
// header value whose rel contains rel.
func linkTarget(header, rel string) string {
	for rest := header; rest != ""; {
		rest = strings.TrimLeft(rest, " \t,")
		if !strings.HasPrefix(rest, "<") {
			return ""
		}
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return ""
		}
		target := rest[1:end]
		rest = rest[end+1:]
		// parameters up to the next link
		var params []string
		for {
			rest = strings.TrimLeft(rest, " \t")
			if !strings.HasPrefix(rest, ";") {
				break
			}
			rest = strings.TrimLeft(rest[1:], " \t")
			i := 0
			inQuote := false
			for ; i < len(rest); i++ {
				c := rest[i]
				if c == '"' {
					inQuote = !inQuote
				} else if c == '\\' && inQuote {
					i++
				} else if !inQuote && (c == ';' || c == ',') {
					break
				}
			}
			params = append(params, rest[:min(i, len(rest))])
			rest = rest[min(i, len(rest)):]
		}
		for _, p := range params {
			k, v, _ := strings.Cut(p, "=")
			if !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			v = strings.Trim(strings.TrimSpace(v), `"`)
			for _, r := range strings.Fields(v) {
				if strings.EqualFold(r, rel) {
					return target
				}
			}
		}
	}
	return ""
}
