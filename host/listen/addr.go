package listen

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Network is the kind of socket an Addr names.
type Network string

const (
	TCP  Network = "tcp"  // Addr.Address is HOST:PORT as net.Listen takes it
	Unix Network = "unix" // Addr.Address is the socket file's path
	FD   Network = "fd"   // Addr.FD is an inherited, already-listening descriptor
)

// DefaultPort is the port of a bind that names only a host, as in gunicorn.
const DefaultPort = "8000"

// Addr is one parsed --bind value.
type Addr struct {
	Network Network
	// Address is "host:port" for TCP (host empty for all interfaces,
	// IPv6 hosts bracketed) and the path for Unix; empty for FD.
	Address string
	// FD is the descriptor number for FD; 0 otherwise.
	FD int
}

// String returns the canonical bind form: "127.0.0.1:8000", "[::1]:8000",
// ":8000", "unix:/run/app.sock" or "fd://3". Parse(a.String()) == a.
func (a Addr) String() string {
	switch a.Network {
	case Unix:
		return "unix:" + a.Address
	case FD:
		return "fd://" + strconv.Itoa(a.FD)
	default:
		return a.Address
	}
}

// Parse parses one --bind value; see the package documentation for the
// forms. A "tcp://" prefix is accepted and dropped, as gunicorn does.
func Parse(bind string) (Addr, error) {
	s := strings.TrimSpace(bind)
	fail := func(why string) (Addr, error) {
		return Addr{}, fmt.Errorf("bind %q: %s", bind, why)
	}
	switch {
	case s == "":
		return fail("empty address")
	case strings.HasPrefix(s, "unix:"):
		path := strings.TrimPrefix(strings.TrimPrefix(s, "unix:"), "//")
		if path == "" {
			return fail("unix: needs a socket path, like unix:/run/app.sock")
		}
		return Addr{Network: Unix, Address: path}, nil
	case strings.HasPrefix(s, "fd://"):
		n, err := strconv.Atoi(s[len("fd://"):])
		if err != nil || n < 0 {
			return fail("fd:// needs a file descriptor number, like fd://3")
		}
		return Addr{Network: FD, FD: n}, nil
	}
	s = strings.TrimPrefix(s, "tcp://")

	var host, port string
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return fail("missing ']' after the IPv6 address")
		}
		host, port = s[1:end], DefaultPort
		switch rest := s[end+1:]; {
		case rest == "":
		case strings.HasPrefix(rest, ":"):
			port = rest[1:]
		default:
			return fail("expected ':PORT' after ']'")
		}
		if net.ParseIP(host) == nil {
			return fail(fmt.Sprintf("%q is not an IPv6 address", host))
		}
	case strings.Count(s, ":") > 1:
		return fail("an IPv6 address needs brackets, like [::1]:8000")
	case strings.Contains(s, ":"):
		host, port, _ = strings.Cut(s, ":")
	default:
		host, port = s, DefaultPort
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fail(fmt.Sprintf("port %q is not a number from 0 to 65535", port))
	}
	return Addr{Network: TCP, Address: net.JoinHostPort(host, strconv.Itoa(p))}, nil
}
