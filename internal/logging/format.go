package logging

import (
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Formatter formats entries as keepalived prints them on the console and
// in its log file: the local time as strftime's %c in the C locale, a
// colon, and the message.
type Formatter struct{}

// Format implements logrus.Formatter.
func (Formatter) Format(e *logrus.Entry) ([]byte, error) {
	msg := strings.TrimSuffix(e.Message, "\n")
	b := make([]byte, 0, len(time.ANSIC)+2+len(msg)+1)
	b = e.Time.AppendFormat(b, time.ANSIC)
	b = append(b, ": "...)
	b = append(b, msg...)
	return append(b, '\n'), nil
}
