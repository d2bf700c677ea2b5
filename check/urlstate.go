package check

import (
	"context"
	"time"
)

// A stepChecker checks one of its parts per attempt: HTTP_GET and
// SSL_GET check one url per attempt, as keepalived's do.
type stepChecker interface {
	steps() int
	checkStepBy(ctx context.Context, deadline time.Time, i int) error
	startStep(p *poller, ctx canceller, deadline time.Time, i int, done func(error))
}

// urlState applies keepalived 2.2's rules for HTTP_GET and SSL_GET, its
// check_http.c epilog and timeout_epilog, to one checker's attempts, each
// of one url, beside the checker's checkerState:
//
//   - a url that passes moves on to the next, delay_loop later; once the
//     last has passed the checker is up (and logged so if it was down or
//     had not run), and the first url is next;
//   - a url that fails is tried again delay_before_retry later; once
//     its retries are spent the checker is down and that url is the
//     failed url, tried again every delay_before_retry or delay_loop,
//     whichever is longer;
//   - when the failed url passes, every url is checked again from the
//     first before the checker is up: a recovery takes a pass of the
//     failed url and then one of every url, each delay_loop apart;
//   - with fast_recovery, the urls after a pass are checked at once,
//     rather than delay_loop later, before the first verdict and while
//     the checker is down with no failed url.
//
// keepalived also checks at once after a failure in that last state,
// again and again without a pause while the url fails; here such a url
// waits delay_before_retry.
type urlState struct {
	urls   int
	it     int  // url_it: the url of the next attempt
	failed bool // failed_url: the checker went down on url it
	fast   bool // fast_recovery
}

// urlDelay is what the next attempt waits.
type urlDelay int

const (
	waitLoop   urlDelay = iota // delay_loop
	waitRetry                  // delay_before_retry
	waitFailed                 // the longer of the two
	waitNone                   // fast_recovery: at once
)

// observe records one attempt of url u.it with the checker's state s.
// upLog and downLog tell the attempts keepalived logs the checker's
// verdict for; changed, whether s.up flipped.
func (u *urlState) observe(s *checkerState, ok bool) (changed, upLog, downLog bool, wait urlDelay) {
	switch {
	case ok: // REGISTER_CHECKER_NEW
		u.it++
		s.retryIt = 0
		switch {
		case u.it == u.urls && !u.failed:
			if !s.up || !s.hasRun {
				upLog, changed = true, !s.up
				s.up, s.hasRun = true, true
			}
			u.it = 0
		case u.failed:
			// The failed url passes: every url again.
			u.failed, u.it = false, 0
		}
		if !s.hasRun {
			s.retryIt = s.retry
		}
		wait = waitLoop
		if u.fast && (!s.hasRun || (!s.up && !u.failed)) {
			wait = waitNone
		}
		return changed, upLog, false, wait
	case s.up || !s.hasRun: // timeout_epilog, then REGISTER_CHECKER_RETRY
		s.hasRun = true
		s.retryIt++
		if s.retryIt > s.retry {
			if s.up {
				downLog, changed = true, true
				s.up = false
			}
			u.failed = true
		}
	}
	// REGISTER_CHECKER_FAILED, or a retry.
	if u.failed {
		return changed, false, downLog, waitFailed
	}
	return changed, false, downLog, waitRetry
}
