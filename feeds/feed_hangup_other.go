//go:build !linux || nohangupwatch

package feeds

// Elsewhere than on Linux a goroutine per parked longpoll watches for its
// client leaving (feed_hangup_linux.go has the epoll watcher). The build
// tag nohangupwatch selects this on Linux too, so that bench/feeds.md can
// measure the watcher against a goroutine per parked connection.

// epollHangups says whether one watcher for the process, not a goroutine
// per parked longpoll, notices clients leaving.
const epollHangups = false

func watchHangup(*parkedFeed) bool { return false }

func forgetHangup(*parkedFeed) {}
