package check

import (
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// FuzzDNSReply feeds any datagram to DNS_CHECK's reply handling, as a
// server or anyone on the path may send: it must never panic, must ignore
// what is not the response to its query, and must judge a response that
// parses whole as its RCODE and answers say.
func FuzzDNSReply(f *testing.F) {
	for _, m := range dnsSeeds(f) {
		f.Add(m, true, true, uint16(dnsmessage.TypeSOA))
		f.Add(m, true, false, uint16(dnsmessage.TypeSOA))
	}
	f.Add([]byte{}, false, false, uint16(0))
	c := &DNSCheck{Dialer: Dialer{Addr: netip.MustParseAddrPort("192.0.2.53:53")}}
	f.Fuzz(func(t *testing.T, b []byte, matchID, requireAnswer bool, qtype uint16) {
		id := uint16(0x1234)
		if matchID && len(b) >= 2 {
			id = uint16(b[0])<<8 | uint16(b[1])
		}
		c.RequireAnswer = requireAnswer
		qt := dnsmessage.Type(qtype)
		done, err := c.reply(b, id, qt, ".")

		var p dnsmessage.Parser
		h, herr := p.Start(b)
		if herr != nil || h.ID != id || !h.Response {
			if done || err != nil {
				t.Fatalf("a datagram that is not the response was judged: done %v, %v", done, err)
			}
			return
		}
		if !done {
			t.Fatalf("the response (header %+v) was ignored", h)
		}
		if !requireAnswer || h.RCode != dnsmessage.RCodeSuccess {
			if ok := h.RCode == dnsmessage.RCodeSuccess; (err == nil) != ok {
				t.Fatalf("RCODE %v judged %v", h.RCode, err)
			}
			return
		}
		var m dnsmessage.Message
		if m.Unpack(b) != nil {
			// A response that does not parse whole may pass or
			// fail, by where it breaks; it did not panic.
			return
		}
		has := false
		for _, a := range m.Answers {
			has = has || a.Header.Type == qt
		}
		if (err == nil) != has {
			t.Fatalf("answers %v for type %v judged %v", m.Answers, qt, err)
		}
	})
}

// dnsSeeds are responses to a query of ID 0x1234 for the root's SOA, and
// near misses.
func dnsSeeds(f *testing.F) [][]byte {
	root := dnsmessage.MustNewName(".")
	q := dnsmessage.Question{Name: root, Type: dnsmessage.TypeSOA, Class: dnsmessage.ClassINET}
	soa := dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: root, Type: dnsmessage.TypeSOA, Class: dnsmessage.ClassINET, TTL: 60},
		Body:   &dnsmessage.SOAResource{NS: dnsmessage.MustNewName("ns.example."), MBox: dnsmessage.MustNewName("root.example."), Serial: 1},
	}
	a := dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: root, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
		Body:   &dnsmessage.AResource{A: [4]byte{192, 0, 2, 1}},
	}
	var out [][]byte
	for _, m := range []dnsmessage.Message{
		{Header: dnsmessage.Header{ID: 0x1234, Response: true}, Questions: []dnsmessage.Question{q}, Answers: []dnsmessage.Resource{soa}},
		{Header: dnsmessage.Header{ID: 0x1234, Response: true}, Questions: []dnsmessage.Question{q}, Answers: []dnsmessage.Resource{a, soa}},
		{Header: dnsmessage.Header{ID: 0x1234, Response: true}, Questions: []dnsmessage.Question{q}, Answers: []dnsmessage.Resource{a}},
		{Header: dnsmessage.Header{ID: 0x1234, Response: true, RCode: dnsmessage.RCodeNameError}, Questions: []dnsmessage.Question{q}},
		{Header: dnsmessage.Header{ID: 0x1234}, Questions: []dnsmessage.Question{q}},
		{Header: dnsmessage.Header{ID: 0x4321, Response: true}, Questions: []dnsmessage.Question{q}, Answers: []dnsmessage.Resource{soa}},
	} {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
		// Cut short in the answer.
		out = append(out, b[:len(b)-3])
	}
	return out
}
