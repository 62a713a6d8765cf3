// Command reapiexec serves the test execution service of package
// reapiexec: `reapiexec --listen 127.0.0.1:0 --dir DIR [--break-streams]
// [--timeout DURATION]`.
// It prints "serving REAPI execution on ADDR" on standard error once it
// listens, and stops on SIGTERM or SIGINT.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/bstgo/bst/sandbox"
	"github.com/bstgo/bst/tests/reapiexec"
)

func main() {
	sandbox.MaybeInit()
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	dir := flag.String("dir", "", "state directory")
	breakStreams := flag.Bool("break-streams", false, "break every Execute stream after its first message")
	timeout := flag.Duration("timeout", 0, "the longest an action without a timeout of its own may run (0: no limit)")
	flag.Parse()
	if err := sandbox.Seal(); err != nil {
		fmt.Fprintln(os.Stderr, "reapiexec:", err)
		os.Exit(1)
	}
	if err := run(*listen, *dir, reapiexec.Options{Dir: *dir, BreakStreams: *breakStreams, Timeout: *timeout, Log: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, "reapiexec:", err)
		os.Exit(1)
	}
}

func run(listen, dir string, opts reapiexec.Options) error {
	if dir == "" {
		return fmt.Errorf("--dir is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	svc, err := reapiexec.New(ctx, opts)
	if err != nil {
		return err
	}
	defer svc.Close()
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "serving REAPI execution on %s\n", l.Addr())
	errc := make(chan error, 1)
	go func() { errc <- svc.Serve(l) }()
	select {
	case <-ctx.Done():
		l.Close()
		fmt.Fprintf(os.Stderr, "executions=%d cache-hits=%d waits=%d cancelled=%d\n",
			svc.Executions.Load(), svc.CacheHits.Load(), svc.Waits.Load(), svc.Cancelled.Load())
		return nil
	case err := <-errc:
		return err
	}
}
