package fetch

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// LocalOnly returns an HTTP client that dials nothing but this machine
// (loopback addresses and localhost): for a sandbox, where a request the
// sandbox does not serve must fail loudly instead of leaving the machine.
func LocalOnly() *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return nil, fmt.Errorf("only this machine may be reached: refusing to connect to %s", host)
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 32,
	}}
}
