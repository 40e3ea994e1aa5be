package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/afflake/afflake/engine/config"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/run"
	"github.com/afflake/afflake/engine/spec"
	"github.com/afflake/afflake/engine/storage"
)

// selection is the specs and accounts a run or plan covers.
type selection struct {
	specs    *spec.Set
	cfg      *config.Config
	accounts []config.Account
}

// selectAccounts loads the specs and the configuration and picks the
// enabled accounts of the networks asked for (all when none is named).
func selectAccounts(stderr io.Writer, specsDir, configFile, networks string) (*selection, bool) {
	set, ok := loadSpecs(stderr, specsDir)
	if !ok {
		return nil, false
	}
	cfg, errs := config.Load(configFile)
	if len(errs) == 0 {
		have := map[string]bool{}
		for _, n := range set.Names() {
			have[n] = true
		}
		errs = cfg.Check(have)
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, e.Pretty())
		}
		fmt.Fprintf(stderr, "%d configuration error(s): nothing was run\n", len(errs))
		return nil, false
	}
	want := map[string]bool{}
	for _, n := range strings.Split(networks, ",") {
		if n = strings.TrimSpace(n); n != "" {
			if _, ok := set.Specs[n]; !ok {
				fmt.Fprintf(stderr, "--networks: no spec for %q (have %s)\n", n, strings.Join(set.Names(), ", "))
				return nil, false
			}
			want[n] = true
		}
	}
	sel := &selection{specs: set, cfg: cfg}
	nets := make([]string, 0, len(cfg.Accounts))
	for n := range cfg.Accounts {
		nets = append(nets, n)
	}
	sort.Strings(nets)
	for _, n := range nets {
		if len(want) > 0 && !want[n] {
			continue
		}
		for _, a := range cfg.Accounts[n] {
			if !a.Disabled {
				sel.accounts = append(sel.accounts, a)
			}
		}
	}
	if len(sel.accounts) == 0 {
		fmt.Fprintf(stderr, "no enabled accounts in %s for %s\n", cfg.File, orAll(networks))
		return nil, false
	}
	return sel, true
}

func orAll(networks string) string {
	if networks == "" {
		return "any network"
	}
	return networks
}

// resolve turns the selected accounts into run accounts with their
// secrets. An account whose secrets cannot be read is reported in errs
// and left out, unless placeholders is set: then each unreadable secret
// reads as <name> (for plan, which sends nothing).
func (sel *selection) resolve(ctx context.Context, r *config.Resolver, placeholders bool) (accts []run.Account, errs []string) {
	for _, a := range sel.accounts {
		secrets, err := r.Resolve(ctx, a)
		if err != nil {
			if !placeholders {
				errs = append(errs, err.Error())
				continue
			}
			secrets = map[string]string{}
			for name := range a.Secrets {
				secrets[name] = "<" + name + ">"
			}
			errs = append(errs, err.Error())
		}
		accts = append(accts, run.Account{Network: a.Network, Account: fetch.Account{
			ID: a.ID, Currency: a.Currency, Extra: a.Vars(), Secrets: secrets, BaseURL: a.BaseURL, Origins: a.Origins,
		}})
	}
	return accts, errs
}

// parseDate reads --from/--to: a date (UTC midnight) or an RFC 3339 time.
func parseDate(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is neither YYYY-MM-DD nor an RFC 3339 time", flag, s)
	}
	return t.UTC(), nil
}

// dateRange reads --from and --to.
func dateRange(from, to string) (time.Time, time.Time, error) {
	f, err := parseDate("--from", from)
	if err != nil {
		return f, f, err
	}
	t, err := parseDate("--to", to)
	if err != nil {
		return f, t, err
	}
	if !f.IsZero() && !t.IsZero() && !f.Before(t) {
		return f, t, fmt.Errorf("--from %s is not before --to %s", from, to)
	}
	return f, t, nil
}

// reportSwept says how many files of crashed runs opening a local lake
// removed from its staging directory.
func reportSwept(stderr io.Writer, cmd string, store storage.Store) {
	if l, ok := store.(*storage.LocalStore); ok && l.Swept() > 0 {
		fmt.Fprintf(stderr, "afflake %s: removed %d staged entries left in %s by runs that stopped (untouched for %v)\n",
			cmd, l.Swept(), l.TempDir(), storage.StaleAfter)
	}
}

// openLake opens the lake and proves it can be written before anything
// else happens: a lake path that cannot be written, a bucket that does
// not exist or expired credentials stop the command before any request
// is sent to a network. The returned func releases the store.
func openLake(ctx context.Context, stderr io.Writer, cmd, location string) (storage.Store, func(), bool) {
	store, err := storage.Open(location)
	if err == nil {
		err = store.Check(ctx)
	}
	if err != nil {
		fmt.Fprintf(stderr, "afflake %s: %v\n", cmd, err)
		return nil, nil, false
	}
	reportSwept(stderr, cmd, store)
	release := func() {
		if c, ok := store.(io.Closer); ok {
			c.Close()
		}
	}
	return store, release, true
}
