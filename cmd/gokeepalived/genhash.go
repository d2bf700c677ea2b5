package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/gokeepalived/gokeepalived/check"
)

// genhashOptions is keepalived's genhash command line.
var genhashOptions = []option{
	{'S', "use-ssl", noArg},
	{'I', "use-sni", noArg},
	{'s', "server", requiredArg},
	{'p', "port", requiredArg},
	{'u', "url", requiredArg},
	{'V', "use-virtualhost", requiredArg},
	{'v', "verbose", noArg},
	{'h', "help", noArg},
	{'m', "fwmark", requiredArg},
	{'P', "protocol", requiredArg},
	{'t', "timeout", requiredArg},
}

// runGenhash prints the MD5 digest of a URL's body as keepalived's genhash
// does, for the digest keyword of HTTP_GET and SSL_GET. Its messages, exit
// codes and output match genhash's, down to reporting a failed connection
// on stdout with status 0.
func runGenhash(prog string, args []string, stdout, stderr io.Writer) int {
	opts, _, err := getopt(genhashOptions, args)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		genhashUsage(stderr, prog)
		return exitProgramError
	}
	var (
		server, port, url string
		verbose           bool
		timeout           = 5 * time.Second
		o                 check.GenhashOptions
	)
	for _, p := range opts {
		switch p.opt.short {
		case 'S':
			o.TLS = true
		case 'I':
			o.EnableSNI = true
		case 's':
			server = p.value
		case 'p':
			port = p.value
		case 'u':
			url = p.value
		case 'V':
			o.VirtualHost = p.value
		case 'v':
			verbose = true
		case 'h':
			genhashUsage(stderr, prog)
			return exitProgramError
		case 'm':
			n, err := strconv.ParseUint(p.value, 0, 32)
			if err != nil {
				fmt.Fprintf(stderr, "invalid fwmark '%s'\n", p.value)
				return exitProgramError
			}
			o.FWMark = uint32(n)
		case 'P':
			proto, err := check.ParseHTTPProtocol(p.value)
			if err != nil {
				fmt.Fprintf(stderr, "invalid HTTP protocol version '%s'\n", p.value)
				genhashUsage(stderr, prog)
				return exitProgramError
			}
			o.Protocol = proto
		case 't':
			secs, err := strconv.Atoi(p.value)
			if err != nil || secs <= 0 {
				fmt.Fprintf(stderr, "invalid timeout '%s'\n", p.value)
				return exitProgramError
			}
			timeout = time.Duration(secs) * time.Second
		}
	}
	if server == "" || port == "" || url == "" {
		genhashUsage(stderr, prog)
		return exitProgramError
	}
	addr, err := netip.ParseAddr(server)
	if err != nil {
		fmt.Fprintf(stderr, "server should be an IP, not %s\n", server)
		genhashUsage(stderr, prog)
		return exitProgramError
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		fmt.Fprintf(stderr, "invalid port '%s'\n", port)
		genhashUsage(stderr, prog)
		return exitProgramError
	}
	o.Addr = netip.AddrPortFrom(addr, uint16(pn))

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := check.GenhashFetch(ctx, url, o)
	if err != nil {
		fmt.Fprintln(stdout, "Connection failed")
		return exitOK
	}
	if err := check.WriteGenhash(stdout, res, verbose); err != nil {
		fmt.Fprintf(stderr, "genhash: %v\n", err)
		return exitProgramError
	}
	return exitOK
}

func genhashUsage(w io.Writer, prog string) {
	fmt.Fprintf(w, `Usage: %s COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
Either long or short options are allowed.
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds
`, prog)
}
