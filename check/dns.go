package check

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// DNS_CHECK's defaults.
const (
	DefaultDNSName  = "."
	DefaultDNSRetry = 3
)

// ParseDNSType parses DNS_CHECK's type keyword: A, NS, CNAME, SOA, MX, TXT
// or AAAA.
func ParseDNSType(s string) (dnsmessage.Type, error) {
	switch strings.ToUpper(s) {
	case "A":
		return dnsmessage.TypeA, nil
	case "NS":
		return dnsmessage.TypeNS, nil
	case "CNAME":
		return dnsmessage.TypeCNAME, nil
	case "SOA":
		return dnsmessage.TypeSOA, nil
	case "MX":
		return dnsmessage.TypeMX, nil
	case "TXT":
		return dnsmessage.TypeTXT, nil
	case "AAAA":
		return dnsmessage.TypeAAAA, nil
	}
	return 0, fmt.Errorf("unknown DNS check type %s", s)
}

// DNSCheck is keepalived's DNS_CHECK: one recursive query over UDP (RFC
// 1035); the server is up when a response with the query's ID comes back
// with RCODE NOERROR.
type DNSCheck struct {
	Dialer Dialer
	// Type defaults to SOA when zero.
	Type dnsmessage.Type
	// Name defaults to DefaultDNSName.
	Name string
	// RequireAnswer also demands at least one answer record. keepalived
	// does not, so it is off by default.
	RequireAnswer bool
}

// Check sends the query and waits for its response, ignoring datagrams that
// are not it, until ctx is done.
func (c *DNSCheck) Check(ctx context.Context) error {
	qtype := c.Type
	if qtype == 0 {
		qtype = dnsmessage.TypeSOA
	}
	name := c.Name
	if name == "" {
		name = DefaultDNSName
	}
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	qname, err := dnsmessage.NewName(name)
	if err != nil {
		return fmt.Errorf("DNS check name %q: %w", name, err)
	}
	id := uint16(rand.Uint32())
	q := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: qname, Type: qtype, Class: dnsmessage.ClassINET}},
	}
	query, err := q.Pack()
	if err != nil {
		return fmt.Errorf("packing DNS query for %s: %w", name, err)
	}

	conn, err := c.Dialer.DialContext(ctx, "udp")
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := bindDeadline(ctx, conn)
	defer stop()
	if _, err := conn.Write(query); err != nil {
		return fmt.Errorf("sending DNS query to %s: %w", c.Dialer.Addr, ctxErr(ctx, err))
	}
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return fmt.Errorf("reading DNS response from %s: %w", c.Dialer.Addr, ctxErr(ctx, err))
		}
		if done, err := c.reply(buf[:n], id, qtype, name); done {
			return err
		}
	}
}

// reply judges a datagram received for the query with the given ID, type
// and name: done is false for a datagram that is not its response, which
// the check ignores; otherwise err is the verdict. The datagram comes
// from the network and may hold anything.
func (c *DNSCheck) reply(b []byte, id uint16, qtype dnsmessage.Type, name string) (done bool, err error) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil || h.ID != id || !h.Response {
		return false, nil
	}
	if h.RCode != dnsmessage.RCodeSuccess {
		return true, fmt.Errorf("DNS server %s answered %s for %s %s", c.Dialer.Addr, h.RCode, typeName(qtype), name)
	}
	if !c.RequireAnswer {
		return true, nil
	}
	if err := p.SkipAllQuestions(); err != nil {
		return true, fmt.Errorf("parsing DNS response from %s: %w", c.Dialer.Addr, err)
	}
	for {
		ah, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return true, fmt.Errorf("DNS server %s has no %s record for %s", c.Dialer.Addr, typeName(qtype), name)
		}
		if err != nil {
			return true, fmt.Errorf("parsing DNS response from %s: %w", c.Dialer.Addr, err)
		}
		if ah.Type == qtype {
			return true, nil
		}
		if err := p.SkipAnswer(); err != nil {
			return true, fmt.Errorf("parsing DNS response from %s: %w", c.Dialer.Addr, err)
		}
	}
}

// typeName is a query type as the type keyword spells it.
func typeName(t dnsmessage.Type) string {
	return strings.TrimPrefix(t.String(), "Type")
}
