//go:build linux && !nohangupwatch

package feeds

import (
	"errors"
	"log/slog"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// On Linux one epoll set and one goroutine, for the whole process, notice
// the clients of parked longpolls leaving, instead of a goroutine blocked
// in a read per connection: a parked listener then costs no goroutine,
// and 10,000 clients closing at once (each one's FIN) cost one wake-up per
// batch of events, not a goroutine wake-up each. The set lives while it
// watches connections; the goroutine ends with the last of them.
//
// Each connection is watched once (EPOLLONESHOT) for EPOLLRDHUP, the
// client's FIN, and for EPOLLIN: bytes it sent meanwhile (a pipelined
// request, which is not answered) are read and dropped, and the watch is
// armed again. Go's own poller keeps the descriptor too; with no
// goroutine waiting on it there, its events cost next to nothing.
type hangupWatcher struct {
	mu     sync.Mutex
	epfd   int
	wake   int // an eventfd in the set: the loop checks whether to end
	feeds  map[int32]*parkedFeed
	next   int32
	logger *slog.Logger // the first watched feed's handler's
}

var hangups hangupWatcher

// epollHangups: see feed_hangup_other.go.
const epollHangups = true

// wakeID is the wake eventfd's event data; feeds' ids are positive.
const wakeID = 0

// watchHangup watches p's connection for its client leaving; false when
// it cannot (a connection without a file descriptor, such as TLS, or an
// epoll failure): the caller then watches with a goroutine.
func watchHangup(p *parkedFeed) bool {
	sc, ok := p.conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	return hangups.watch(p, rc)
}

func (w *hangupWatcher) watch(p *parkedFeed, rc syscall.RawConn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.feeds == nil {
		if err := w.start(p.f.h.logger); err != nil {
			p.f.h.logger.Warn("watching parked longpolls with epoll", "error", err)
			return false
		}
	}
	id := w.freeID()
	if err := arm(w.epfd, rc, id, unix.EPOLL_CTL_ADD); err != nil {
		w.stopIfIdle()
		return false
	}
	w.feeds[id] = p
	p.hangupID = id
	return true
}

// start opens the set and its wake eventfd and starts the loop.
func (w *hangupWatcher) start(logger *slog.Logger) error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeID}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return err
	}
	w.epfd, w.wake, w.feeds, w.logger = epfd, wake, map[int32]*parkedFeed{}, logger
	go w.loop(epfd, wake)
	return nil
}

// freeID is the next positive id not in use.
func (w *hangupWatcher) freeID() int32 {
	for {
		w.next++
		if w.next <= wakeID {
			w.next = wakeID + 1
		}
		if _, used := w.feeds[w.next]; !used {
			return w.next
		}
	}
}

// arm (re)registers a connection's one-shot watch.
func arm(epfd int, rc syscall.RawConn, id int32, op int) error {
	var err error
	cerr := rc.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: id}
		err = unix.EpollCtl(epfd, op, int(fd), &ev)
	})
	return errors.Join(cerr, err)
}

// forgetHangup stops watching p as its connection closes (which takes
// the descriptor out of the set). An answered feed stays watched until
// then, so that what its client sends meanwhile is still read: a close
// with unread bytes would reset the connection and could destroy the
// answer on its way.
func forgetHangup(p *parkedFeed) {
	w := &hangups
	w.mu.Lock()
	defer w.mu.Unlock()
	if p.hangupID != 0 && w.feeds[p.hangupID] == p {
		delete(w.feeds, p.hangupID)
		w.stopIfIdle()
	}
}

// stopIfIdle tells the loop to check whether it has anything left to
// watch.
func (w *hangupWatcher) stopIfIdle() {
	if len(w.feeds) == 0 {
		_, _ = unix.Write(w.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	}
}

func (w *hangupWatcher) loop(epfd, wake int) {
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			w.fail(epfd, wake, err)
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == wakeID {
				if w.endIfIdle(epfd, wake) {
					return
				}
				continue
			}
			w.mu.Lock()
			p := w.feeds[ev.Fd]
			w.mu.Unlock()
			if p != nil {
				w.event(epfd, p, ev.Events)
			}
		}
	}
}

// fail hands the watched feeds to goroutines when the set cannot be
// waited on any more, and closes it.
func (w *hangupWatcher) fail(epfd, wake int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.logger.Error("waiting for parked longpolls' clients; watching them with goroutines", "error", err)
	for _, p := range w.feeds {
		p.hangupID = 0
		go p.watch(p.conn)
	}
	unix.Close(wake)
	unix.Close(epfd)
	w.feeds = nil
}

// endIfIdle closes the set when nothing is watched any more, so that a
// process without parked longpolls has no goroutine for them.
func (w *hangupWatcher) endIfIdle(epfd, wake int) bool {
	var b [8]byte
	_, _ = unix.Read(wake, b[:])
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.feeds) > 0 || w.epfd != epfd {
		return false
	}
	unix.Close(wake)
	unix.Close(epfd)
	w.feeds = nil
	return true
}

// event handles one connection's event: its client left, or it sent
// bytes, which are dropped before the watch is armed again.
func (w *hangupWatcher) event(epfd int, p *parkedFeed, events uint32) {
	gone := events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
	var rc syscall.RawConn
	if !gone {
		sc, _ := p.conn.(syscall.Conn)
		var err error
		if rc, err = sc.SyscallConn(); err != nil || !drain(rc) {
			gone = true
		}
	}
	if !gone {
		w.mu.Lock()
		id := p.hangupID
		watched := w.feeds[id] == p
		w.mu.Unlock()
		if !watched || arm(epfd, rc, id, unix.EPOLL_CTL_MOD) == nil {
			return
		}
	}
	forgetHangup(p)
	p.left()
}

// drain reads what the client sent without blocking; false when it
// closed its side or the read failed.
func drain(rc syscall.RawConn) bool {
	ok := true
	var buf [512]byte
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, err := unix.Read(int(fd), buf[:])
			switch {
			case n > 0:
				continue
			case errors.Is(err, unix.EAGAIN):
			default:
				ok = false
			}
			return true
		}
	})
	return ok && err == nil
}
