package check

// checkerState applies keepalived 2.2's retry rules to one checker's
// attempts, as check_tcp.c's tcp_epilog and check_api.c's start-up code do:
//
//   - retry_it starts at retry, so before the first verdict a single failure
//     is enough (a non-alpha checker is believed up, an alpha one down, until
//     it has run);
//   - a success, or a failure with retry_it already at retry, is a verdict:
//     retry_it returns to 0 and the next attempt waits delay_loop;
//   - any other failure counts one more retry and waits delay_before_retry.
//
// So once running, a checker is declared down after retry+1 consecutive
// failures spaced delay_before_retry apart, and up after one success. An
// alpha checker's first verdict, a failure, changes nothing here, but
// keepalived notifies it; the Scheduler reports it as Event.Confirmed.
type checkerState struct {
	retry   int
	retryIt int
	up      bool
	hasRun  bool
}

func newCheckerState(retry int, alpha bool) checkerState {
	return checkerState{retry: retry, retryIt: retry, up: !alpha}
}

// observe records one attempt. changed reports whether the checker's state
// flipped; loop whether the next attempt waits delay_loop rather than
// delay_before_retry.
func (s *checkerState) observe(ok bool) (changed, loop bool) {
	if ok || s.retryIt >= s.retry {
		loop = true
		s.retryIt = 0
		if ok != s.up {
			changed = true
			s.up = ok
		}
	} else {
		s.retryIt++
	}
	s.hasRun = true
	return changed, loop
}
