package environ

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Config is what Append needs to know about the deployment. Fill the
// exported fields (NewConfig gives gunicorn's defaults), call Prepare once,
// then share the Config read-only between goroutines.
type Config struct {
	// RootPath is the SCRIPT_NAME of the application (--root-path, else the
	// SCRIPT_NAME environment variable of the server process). "" mounts the
	// application at the root; otherwise it must start with "/". Trailing
	// slashes are removed by Prepare ("/" means ""). It is a decoded path:
	// "%" in it is a literal percent sign.
	RootPath string

	// ForwardedAllowIPs lists the peers whose proxy headers are believed
	// (--forwarded-allow-ips): IP addresses and CIDR prefixes; an entry may
	// itself be a comma-separated list; "*" trusts every peer. A Unix-socket
	// peer is the local host and is checked as 127.0.0.1. NewConfig sets
	// "127.0.0.1", "::1"; an empty list trusts nobody.
	ForwardedAllowIPs []string

	// SecureSchemeHeaders maps a request header name (any case) to the
	// value that means "the client used https" (gunicorn's
	// secure_scheme_headers). From a trusted peer, each of these headers
	// that is present votes https when its value equals (ASCII
	// case-insensitively) the configured one and http otherwise. NewConfig
	// sets gunicorn's defaults; nil or empty disables them. Names containing
	// '_' are refused by Prepare: such header lines are always dropped.
	SecureSchemeHeaders map[string]string

	// Set by Prepare.
	prepared bool
	root     string         // RootPath normalized
	trustAll bool           // "*" was listed
	trusted  []netip.Prefix // unmapped (IPv4 as 4-byte) prefixes
	secure   []secureHeader // sorted by name
}

// secureHeader is one prepared SecureSchemeHeaders entry.
type secureHeader struct {
	name  string // lowercase
	value string
}

// NewConfig returns a Config with gunicorn's defaults: no root path,
// proxies trusted on 127.0.0.1 and ::1, and the secure scheme headers
// X-Forwarded-Proto: https, X-Forwarded-Ssl: on, X-Forwarded-Protocol: ssl.
// Prepare must still be called after changing the fields.
func NewConfig() *Config {
	return &Config{
		ForwardedAllowIPs: []string{"127.0.0.1", "::1"},
		SecureSchemeHeaders: map[string]string{
			"X-Forwarded-Proto":    "https",
			"X-Forwarded-Ssl":      "on",
			"X-Forwarded-Protocol": "ssl",
		},
	}
}

// Prepare validates the exported fields and precomputes what Append uses
// (the parsed CIDRs, the normalized root path). It must be called before the
// Config is first used and again after any field changes.
func (c *Config) Prepare() error {
	root := c.RootPath
	if root != "" && root[0] != '/' {
		return fmt.Errorf("environ: root path %q does not start with \"/\"", root)
	}
	// PEP 3333 (URL reconstruction) concatenates SCRIPT_NAME and PATH_INFO,
	// and wsgiref.validate: "SCRIPT_NAME cannot be '/'; it should instead
	// be '', and PATH_INFO should be '/'". So no trailing slash.
	root = strings.TrimRight(root, "/")

	var trustAll bool
	var trusted []netip.Prefix
	for _, list := range c.ForwardedAllowIPs {
		for _, e := range strings.Split(list, ",") {
			e = strings.TrimSpace(e)
			switch {
			case e == "":
			case e == "*":
				trustAll = true
			case strings.Contains(e, "/"):
				p, err := netip.ParsePrefix(e)
				if err != nil {
					return fmt.Errorf("environ: forwarded-allow-ips: invalid CIDR %q", e)
				}
				if p.Addr().Is4In6() && p.Bits() >= 96 {
					p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
				}
				trusted = append(trusted, p.Masked())
			default:
				a, err := netip.ParseAddr(e)
				if err != nil || a.Zone() != "" {
					return fmt.Errorf("environ: forwarded-allow-ips: invalid IP address %q", e)
				}
				a = a.Unmap()
				trusted = append(trusted, netip.PrefixFrom(a, a.BitLen()))
			}
		}
	}

	secure := make([]secureHeader, 0, len(c.SecureSchemeHeaders))
	for name, value := range c.SecureSchemeHeaders {
		if !isToken(name) || strings.IndexByte(name, '_') >= 0 {
			return fmt.Errorf("environ: secure scheme header %q is not a header name without '_'", name)
		}
		value = strings.Trim(value, " \t")
		if value == "" {
			return fmt.Errorf("environ: secure scheme header %q has an empty value", name)
		}
		secure = append(secure, secureHeader{name: strings.ToLower(name), value: value})
	}
	if len(secure) > 64 {
		return fmt.Errorf("environ: %d secure scheme headers; at most 64", len(secure))
	}
	sort.Slice(secure, func(i, j int) bool { return secure[i].name < secure[j].name })
	for i := 1; i < len(secure); i++ {
		if secure[i].name == secure[i-1].name {
			return fmt.Errorf("environ: secure scheme header %q listed twice", secure[i].name)
		}
	}

	c.root, c.trustAll, c.trusted, c.secure = root, trustAll, trusted, secure
	c.prepared = true
	return nil
}

// trusts reports whether proxy headers from (or naming) a are believed.
// a must be unmapped.
func (c *Config) trusts(a netip.Addr) bool {
	if c.trustAll {
		return true
	}
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// zeroConfig stands for a nil *Config: no root path, no trusted proxy.
var zeroConfig = &Config{prepared: true}
