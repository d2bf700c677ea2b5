package vrrp

import "strings"

// logEach logs err, one line for each error it joins, prefixed with the
// instance's name: adding or removing a set of VIPs and routes fails
// for each one the host refuses and goes on with the others, and each
// failure names its object.
func logEach(logf func(string, ...any), instance string, err error) {
	for _, e := range splitJoined(err) {
		logf("(%s) %v", instance, e)
	}
}

// splitJoined returns the errors err joins with errors.Join, at any
// depth, or err itself. An error wrapping several with a message of its
// own (from fmt.Errorf) stays whole.
func splitJoined(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	errs := j.Unwrap()
	msgs := make([]string, len(errs))
	for k, e := range errs {
		msgs[k] = e.Error()
	}
	if strings.Join(msgs, "\n") != err.Error() {
		return []error{err}
	}
	var out []error
	for _, e := range errs {
		out = append(out, splitJoined(e)...)
	}
	return out
}
