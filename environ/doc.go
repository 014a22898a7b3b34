// Package environ turns a parsed request (server.Request) into the
// per-request variables of the PEP 3333 environ dictionary. It is pure Go;
// the bridge turns each Var into a str key and a str value decoded as
// latin-1 (PEP 3333: "native strings" holding only code points
// \u0000-\u00FF), so a Value carries raw bytes. The constant entries
// (wsgi.version, wsgi.input, wsgi.errors, ...) are the bridge's.
//
// # Variables
//
// In this order: REQUEST_METHOD, SCRIPT_NAME, PATH_INFO, QUERY_STRING,
// RAW_URI, CONTENT_TYPE, CONTENT_LENGTH, SERVER_NAME, SERVER_PORT,
// SERVER_PROTOCOL, REMOTE_ADDR, REMOTE_PORT, wsgi.url_scheme, HTTPS, then
// HTTP_HOST and the HTTP_ variables in the order of their first line.
//
//   - PATH_INFO is the path percent-decoded to bytes like Python's
//     unquote_to_bytes, which gunicorn and wsgiref use: "%2F" becomes "/",
//     "%ff" the byte 0xFF, an invalid escape ("%zz", a trailing "%") stays
//     as it is, "+" stays "+". The path only (the query is cut off; for an
//     absolute-form target the authority too). Asterisk-form ("OPTIONS *")
//     gives PATH_INFO "*", as with gunicorn and wsgiref. An empty path is
//     "/" (wsgiref.validate requires it when SCRIPT_NAME is empty). RAW_URI
//     (gunicorn's name) is the request-target as sent, for applications that
//     must tell "%2F" from "/".
//   - SCRIPT_NAME is Config.RootPath, always. When the decoded path starts
//     with it at a segment boundary ("/app" and "/app/x", not "/apple") it is
//     removed from PATH_INFO. When the path does not start with it, PATH_INFO
//     is the whole path: this is the setup where the proxy already removed
//     the prefix (nginx "location /app/ { proxy_pass http://up/; }") and
//     the application must still generate URLs under /app. gunicorn 20 splits
//     the path at the first occurrence of SCRIPT_NAME anywhere (500 when
//     absent); gunicorn >= 22 answers 400 "Request path ... does not start
//     with SCRIPT_NAME" for a path outside it, and turns "/apple" into
//     PATH_INFO "le". Limitation: behind a stripping proxy, an
//     application route that itself begins with the root path ("/app/...")
//     would lose it.
//   - QUERY_STRING is raw, "" when there is none (always present).
//   - CONTENT_TYPE and CONTENT_LENGTH only when the client sent those fields
//     (never HTTP_CONTENT_*); no CONTENT_LENGTH for a chunked body.
//   - SERVER_NAME, SERVER_PORT come from Request.Host (Host header, or the
//     authority of an absolute-form target), the port defaulting to 80 or
//     443 by the final scheme, so that PEP 3333's URL reconstruction gives
//     the URL the client used. Without a Host (HTTP/1.0) they are the local
//     socket address, an IPv6 address in brackets (RFC 3875 §4.1.14).
//   - REMOTE_ADDR is the peer's IP without brackets or zone (IPv4-mapped
//     addresses unmapped); REMOTE_PORT its port.
//   - HTTP_ variables: every other field, the name uppercased with '-'
//     turned into '_'. Repeated fields are joined with ", " (Cookie with
//     "; "). HTTP_HOST is Request.Host. Dropped: names containing '_' (else
//     "X_Forwarded_For" would reach the application as
//     HTTP_X_FORWARDED_FOR; like nginx and gunicorn >= 22), names that are
//     not tokens, and "Proxy" (httpoxy).
//
// # Unix sockets
//
// PEP 3333 requires SERVER_NAME and SERVER_PORT to be non-empty strings.
// SERVER_NAME/SERVER_PORT come from the Host as above; without a Host they
// are "localhost" and 80/443 (gunicorn leaves SERVER_PORT empty, which
// Django turns into the host "localhost:"). The peer is a process of this
// host, so REMOTE_ADDR is "127.0.0.1" and REMOTE_PORT "0": a valid IP
// address, which code calling ipaddress.ip_address(REMOTE_ADDR), Django's
// INTERNAL_IPS checks, rate limiters and Werkzeug's ProxyFix all accept
// (gunicorn gives "" and omits REMOTE_PORT). The same address is used for
// the trust check, so the default --forwarded-allow-ips (127.0.0.1, ::1)
// trusts the proxy on the socket, as gunicorn does for Unix sockets.
//
// # Proxies
//
// Only when the peer's address is in Config.ForwardedAllowIPs are proxy
// headers believed; from any other peer they are plain HTTP_ variables and
// change nothing else.
//
//   - Client address (X-Forwarded-For, and Forwarded "for="): the list of
//     addresses is walked from the right, skipping trusted proxies; the first
//     untrusted address is REMOTE_ADDR. Each proxy appends the address of its
//     peer, so entries left of that one come from the client and are never
//     used (taking the first entry, as many recipes do, lets any client
//     choose its address; uvicorn and Werkzeug's ProxyFix also take the
//     rightmost). A non-address entry
//     ("unknown", an obfuscated "_node", garbage) stops the walk at the last
//     address found. REMOTE_PORT is then the port given with that address
//     ("1.2.3.4:80", "[2001:db8::1]:80"), else "0": the proxy's own port
//     belongs to another connection.
//   - Scheme: each configured secure scheme header (gunicorn's
//     secure_scheme_headers; by default X-Forwarded-Proto: https,
//     X-Forwarded-Ssl: on, X-Forwarded-Protocol: ssl) that is present votes
//     https when its rightmost list element matches, http otherwise; so does
//     the proto= of the Forwarded element the walk stopped at (the one
//     written by the proxy the client talked to). They override the TLS state
//     of the connection. HTTPS=on accompanies wsgi.url_scheme "https".
//   - Conflicts: voters that disagree, or Forwarded and X-Forwarded-For
//     naming different clients, mean a misconfigured proxy or a forged header
//     passed through; AppendChecked reports ErrProxyConflict (answer 400, as
//     gunicorn does for contradictory scheme headers) and the Vars get the
//     safe values: scheme "http", REMOTE_ADDR the peer.
//   - Forwarded (RFC 7239) is parsed strictly: quoted strings with
//     quoted-pairs, IPv6 nodes in brackets with optional port, parameter
//     names case-insensitive, a parameter twice in an element is an error.
//     Any syntax error makes every Forwarded line of the request ignored
//     (an unterminated quote from a client could hide the element the proxy
//     appended); X-Forwarded-For is then still used.
//   - The host is never taken from X-Forwarded-Host or Forwarded "host=":
//     Host is what the front proxy routed on; applications opt in through
//     their own settings (Django USE_X_FORWARDED_HOST, Werkzeug
//     ProxyFix(x_host=1)), which read HTTP_X_FORWARDED_HOST as before.
//
// # Cost
//
// Append reuses dst and pooled scratch memory: every byte it builds
// (decoded path, keys of unknown headers, joined values, formatted
// addresses) goes to one arena converted into a single string at the end,
// so a typical request costs one allocation (REMOTE_ADDR and REMOTE_PORT),
// and none over a Unix socket. Keys of common headers are interned.
package environ
