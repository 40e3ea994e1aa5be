package run

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Progress counts, per network, the windows planned and done, the pages
// fetched and the records mapped. A nil *Progress counts nothing.
type Progress struct {
	mu   sync.Mutex
	nets map[string]*netProgress
}

type netProgress struct {
	windows, windowsDone, pages, records int64
}

// NewProgress returns an empty progress counter.
func NewProgress() *Progress { return &Progress{nets: map[string]*netProgress{}} }

func (p *Progress) get(n string) *netProgress {
	np := p.nets[n]
	if np == nil {
		np = &netProgress{}
		p.nets[n] = np
	}
	return np
}

func (p *Progress) update(n string, f func(*netProgress)) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p.get(n))
}

func (p *Progress) plan(n string, windows int) {
	p.update(n, func(np *netProgress) { np.windows += int64(windows) })
}
func (p *Progress) window(n string) { p.update(n, func(np *netProgress) { np.windowsDone++ }) }
func (p *Progress) page(n string)   { p.update(n, func(np *netProgress) { np.pages++ }) }
func (p *Progress) records(n string, k int64) {
	p.update(n, func(np *netProgress) { np.records += k })
}

// Line renders the progress as one line.
func (p *Progress) Line() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.nets))
	for n := range p.nets {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		np := p.nets[n]
		parts[i] = fmt.Sprintf("%s %d/%d windows %d pages", n, np.windowsDone, np.windows, np.pages)
	}
	return strings.Join(parts, " · ")
}
