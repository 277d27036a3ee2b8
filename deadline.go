package webhook

import (
	"context"
	"errors"
	"time"
)

// attemptDeadline bounds a worker's attempts by Config.AttemptTimeout
// without a new context and timer per attempt: the worker keeps one
// cancelable context and one timer that cancels it when an attempt
// overruns. A context so ended, or ended by a hard stop, is not reused.
// Only the worker that owns it uses it.
type attemptDeadline struct {
	parent  context.Context
	timeout time.Duration
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timer   *time.Timer // runs cancel; nil until the first attempt
}

// start returns the context of the next attempt and starts its clock.
func (a *attemptDeadline) start() context.Context {
	if a.timer == nil || a.ctx.Err() != nil { // first, or spent
		a.ctx, a.cancel = context.WithCancelCause(a.parent)
		cancel := a.cancel
		a.timer = time.AfterFunc(a.timeout, func() { cancel(ErrAttemptTimeout) })
		return a.ctx
	}
	a.timer.Reset(a.timeout)
	return a.ctx
}

// stop ends the attempt's clock. When the timer had fired, even if its
// cancel has not finished yet, the context is spent: the next start makes
// a new one.
func (a *attemptDeadline) stop() {
	if !a.timer.Stop() {
		a.timer = nil
	}
}

// timedOut reports whether the attempt's context ended at its timeout
// rather than at a hard stop.
func (a *attemptDeadline) timedOut() bool {
	return errors.Is(context.Cause(a.ctx), ErrAttemptTimeout)
}

// close releases the context; the worker ends.
func (a *attemptDeadline) close() {
	if a.timer != nil {
		a.timer.Stop()
	}
	if a.cancel != nil {
		a.cancel(nil)
	}
}
