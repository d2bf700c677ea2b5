package logging

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Formatter formats entries as keepalived prints them on the console and
// in its log file: the local time as strftime's %c in the C locale, a
// colon, and the message.
type Formatter struct{}

// message is the text of an entry: its message exactly as written, which
// for keepalived's own lines is keepalived's wording, then any fields as
// " key=value" in key order. keepalived's lines carry no fields, so the
// fields only ever add detail (a script's output, the IPVS operation) after
// the words operators match.
func message(e *logrus.Entry) string {
	msg := strings.TrimSuffix(e.Message, "\n")
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		if k != identField {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return msg
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(msg)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, quoteIfNeeded(fmt.Sprint(e.Data[k])))
	}
	return b.String()
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return strconv.Quote(s)
	}
	return s
}

// Format implements logrus.Formatter.
func (Formatter) Format(e *logrus.Entry) ([]byte, error) {
	msg := message(e)
	b := make([]byte, 0, len(time.ANSIC)+2+len(msg)+1)
	b = e.Time.AppendFormat(b, time.ANSIC)
	b = append(b, ": "...)
	b = append(b, msg...)
	return append(b, '\n'), nil
}
