package sessions

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestContention hammers one registry from many goroutines at once, all of them acting on the same shared pool
// of sessions (own scope and foreign scopes alike), so that start, poll, write, log, list, kill (every signal),
// remove, clear, backgrounding, foreground cancellation, exit callbacks and the reader/waiter/drain/escalation
// goroutines of the sessions race with each other; then Close races with calls still in flight. Run under -race
// (`go test -race ./sessions/`). Invariants: every error is one of the documented ones, OnExit fires at most once
// per session and never after Close returned, every session ends, and goleak (TestMain) finds no goroutine left.
// TestConcurrentActions covers the same actions sequentially per session; this one shares sessions.
func TestContention(t *testing.T) {
	workers, rounds := 16, 150
	if testing.Short() {
		workers, rounds = 8, 40
	}
	var exits sync.Map // session -> count
	var closed atomic.Bool
	var exitsAfterClose atomic.Int64
	r := New(Options{
		KillGrace:  100 * time.Millisecond,
		DrainGrace: 300 * time.Millisecond,
		OnExit: func(i Info) {
			if closed.Load() {
				exitsAfterClose.Add(1)
			}
			// Ids are reused once a record is gone, so a session is its id, pid and start time.
			key := i.ID + "/" + strconv.Itoa(i.Pid) + "/" + i.StartedAt.String()
			n, _ := exits.LoadOrStore(key, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		},
		OnOutput: func(scope, id string) {},
	})
	scopes := []string{"a", "b", "c"}
	commands := []Spec{
		{Command: `while read l; do echo "got:$l"; done`, Stdin: StdinPipe},
		{Command: `yes | head -c 200000`, Stdin: StdinPipe},
		{Command: `sleep 0.3; echo done`},
		{Command: `echo quick`},
		{Command: `trap "" TERM; sleep 1 & wait`, Stdin: StdinPipe},
		{Command: `printf 'a\033[31mred\033[0m\n'; sleep 0.2; printf 'b\n' >&2`, Stdin: StdinPipe},
		{Command: `cat`, PTY: true},
	}

	var mu sync.Mutex
	var all []*Session
	type ref struct{ scope, id string }
	var pool []ref
	pick := func(rng *rand.Rand) ref {
		mu.Lock()
		defer mu.Unlock()
		if len(pool) == 0 {
			return ref{"a", "none"}
		}
		x := pool[rng.IntN(len(pool))]
		if rng.IntN(5) == 0 { // a foreign scope sees nothing
			x.scope = scopes[rng.IntN(len(scopes))]
		}
		return x
	}
	start := func(rng *rand.Rand, scope string) {
		spec := commands[rng.IntN(len(commands))]
		spec.Scope = scope
		spec.Shell = "/bin/sh"
		spec.Env = []string{"PATH=" + os.Getenv("PATH"), "TERM=dumb"}
		if rng.IntN(4) == 0 {
			spec.Timeout = time.Duration(100+rng.IntN(400)) * time.Millisecond
			spec.TimeoutSec = spec.Timeout.Seconds()
		}
		s, _, err := r.Start(spec)
		if err != nil {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("Start: %v", err)
			}
			return
		}
		mu.Lock()
		all = append(all, s)
		mu.Unlock()
		if rng.IntN(6) == 0 {
			// Foreground: another goroutine may cancel it while it runs.
			delay := time.Duration(rng.IntN(50)) * time.Millisecond
			go func() {
				time.Sleep(delay)
				s.CancelForeground()
			}()
			return
		}
		s.Background()
		mu.Lock()
		pool = append(pool, ref{scope, s.ID()})
		mu.Unlock()
	}
	okErr := func(what string, err error) {
		if err == nil {
			return
		}
		var we *WriteError
		var se *SignalError
		switch {
		case errors.Is(err, ErrNotFound), errors.Is(err, ErrNotBackgrounded), errors.Is(err, ErrFinalizing),
			errors.Is(err, ErrNotWritable), errors.As(err, &we), errors.As(err, &se):
		default:
			t.Errorf("%s: undocumented error %T %v", what, err, err)
		}
	}
	signals := []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1,
		syscall.SIGUSR2, syscall.SIGKILL}

	act := func(rng *rand.Rand, ctx context.Context) {
		x := pick(rng)
		switch rng.IntN(12) {
		case 0:
			start(rng, scopes[rng.IntN(len(scopes))])
		case 1, 2:
			_, err := r.Poll(ctx, x.scope, x.id, time.Duration(rng.IntN(30))*time.Millisecond, nil)
			okErr("Poll", err)
		case 3:
			_, err := r.Write(ctx, x.scope, x.id, []byte("line"+strconv.Itoa(rng.IntN(100))+"\n"), rng.IntN(8) == 0)
			okErr("Write", err)
		case 4:
			_, err := r.Log(x.scope, x.id)
			okErr("Log", err)
		case 5:
			for _, i := range r.List(x.scope) {
				if i.Scope != x.scope {
					t.Errorf("List(%s) returned a session of scope %s", x.scope, i.Scope)
				}
			}
		case 6:
			_, err := r.Kill(x.scope, x.id, signals[rng.IntN(len(signals))])
			okErr("Kill", err)
		case 7:
			_, _, err := r.Remove(x.scope, x.id)
			okErr("Remove", err)
		case 8:
			_, err := r.Clear(x.scope, x.id)
			okErr("Clear", err)
		case 9:
			mu.Lock()
			var s *Session
			if len(all) > 0 {
				s = all[rng.IntN(len(all))]
			}
			mu.Unlock()
			if s != nil {
				_ = s.Info()
				_ = s.Changed()
				s.Background()
			}
		default:
			_, err := r.Poll(ctx, x.scope, x.id, 0, nil)
			okErr("Poll", err)
		}
	}

	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range workers {
		rng := rand.New(rand.NewPCG(uint64(w), 42))
		start(rng, scopes[w%len(scopes)])
		wg.Go(func() {
			for range rounds {
				act(rng, ctx)
			}
		})
	}
	wg.Wait()

	// Close races with calls still in flight.
	stop := make(chan struct{})
	var late sync.WaitGroup
	for w := range 4 {
		rng := rand.New(rand.NewPCG(uint64(100+w), 7))
		late.Go(func() {
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			for {
				select {
				case <-stop:
					return
				default:
				}
				act(rng, cctx)
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	closeCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := r.Close(closeCtx); err != nil {
		t.Errorf("Close: %v", err)
	}
	closed.Store(true)
	close(stop)
	late.Wait()

	mu.Lock()
	defer mu.Unlock()
	for _, s := range all {
		select {
		case <-s.Done():
		case <-time.After(10 * time.Second):
			t.Errorf("session %s did not end after Close", s.ID())
		}
		deadline := time.Now().Add(5 * time.Second) // a member may still be dying when Close returns
		for groupHasLive(s.Pid()) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if groupHasLive(s.Pid()) {
			t.Errorf("session %s: group %d survived Close", s.ID(), s.Pid())
		}
	}
	exits.Range(func(k, v any) bool {
		if n := v.(*atomic.Int64).Load(); n != 1 {
			t.Errorf("OnExit for %v fired %d times", k, n)
		}
		return true
	})
	if n := exitsAfterClose.Load(); n > 0 {
		t.Errorf("OnExit fired %d times after Close returned", n)
	}
	t.Logf("%d sessions started by %d workers x %d rounds", len(all), workers, rounds)
}
