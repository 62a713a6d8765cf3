package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// ttyConn is the host side of a sandbox's pseudo-terminal: libcontainer
// opens the pty inside the container (on its own devpts) and sends the
// master back over a socket pair.
type ttyConn struct {
	parent, child *os.File
	master        *os.File
	in            io.Reader
	out           io.Writer
	done          sync.WaitGroup
	stopResize    func()
	stopInput     func()
	restore       func()
}

func newTTY(p *libcontainer.Process, in io.Reader, out io.Writer) (*ttyConn, error) {
	parent, child, err := utils.NewSockPair("console")
	if err != nil {
		return nil, err
	}
	p.ConsoleSocket = child
	p.Stdin, p.Stdout, p.Stderr = nil, nil, nil
	return &ttyConn{parent: parent, child: child, in: in, out: out}, nil
}

// start receives the master and copies between it and the caller's
// streams.
func (t *ttyConn) start() error {
	t.child.Close()
	t.child = nil
	m, err := recvFile(t.parent)
	if err != nil {
		return fmt.Errorf("receiving the terminal: %w", err)
	}
	t.master = m
	t.followSize()
	if f, ok := t.in.(*os.File); ok {
		// The caller's terminal is read only when it has input, so that
		// nothing typed after the command ends is taken from the caller.
		if err := t.copyInput(m, f); err != nil {
			return err
		}
	} else if t.in != nil {
		go io.Copy(m, t.in) // ends when the master is closed
	}
	t.done.Add(1)
	go func() {
		defer t.done.Done()
		out := t.out
		if out == nil {
			out = io.Discard
		}
		io.Copy(out, m) // EIO once the last process holding the pty is gone
	}()
	return nil
}

// wait waits for the command's output to be copied.
func (t *ttyConn) wait() { t.done.Wait() }

// followSize gives the pty the size of the caller's terminal, when Stdin
// is one, and keeps it so while the command runs (SIGWINCH); it puts that
// terminal in raw mode meanwhile, so that every key reaches the command's
// terminal (Ctrl-C included) and is echoed by it alone.
func (t *ttyConn) followSize() {
	f, ok := t.in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return
	}
	if state, err := term.MakeRaw(int(f.Fd())); err == nil {
		t.restore = func() { term.Restore(int(f.Fd()), state) }
	}
	resize := func() {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil {
			unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws)
		}
	}
	resize()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, unix.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-sig:
				resize()
			case <-done:
				return
			}
		}
	}()
	t.stopResize = func() {
		signal.Stop(sig)
		close(done)
	}
}

// copyInput copies f to the master until close, polling f with a pipe
// that close writes to, so that no read of f is pending when close
// returns.
func (t *ttyConn) copyInput(m, f *os.File) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	stopped := make(chan struct{})
	t.stopInput = func() {
		w.Write([]byte{0})
		<-stopped
		r.Close()
		w.Close()
	}
	go func() {
		defer close(stopped)
		buf := make([]byte, 4096)
		fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLIN}, {Fd: int32(r.Fd()), Events: unix.POLLIN}}
		for {
			fds[0].Revents, fds[1].Revents = 0, 0
			if _, err := unix.Poll(fds, -1); err != nil {
				if err == unix.EINTR {
					continue
				}
				return
			}
			if fds[1].Revents != 0 {
				return
			}
			if fds[0].Revents&(unix.POLLIN|unix.POLLHUP) == 0 {
				if fds[0].Revents != 0 {
					return
				}
				continue
			}
			n, err := unix.Read(int(f.Fd()), buf)
			if n > 0 {
				if _, werr := m.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil && err != unix.EAGAIN && err != unix.EINTR || n == 0 && err == nil {
				return
			}
		}
	}()
	return nil
}

func (t *ttyConn) close() {
	if t.stopInput != nil {
		t.stopInput()
	}
	if t.stopResize != nil {
		t.stopResize()
	}
	if t.restore != nil {
		t.restore()
	}
	if t.master != nil {
		t.master.Close()
	}
	if t.child != nil {
		t.child.Close()
	}
	t.parent.Close()
}

// recvFile receives one file descriptor sent with SCM_RIGHTS.
func recvFile(sock *os.File) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("recvmsg", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("no file descriptor received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("no file descriptor received")
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}
