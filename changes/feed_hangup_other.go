//go:build !linux

package changes

// Elsewhere than on Linux a goroutine per parked longpoll watches for its
// client leaving (feed_hangup_linux.go has the epoll watcher).

func watchHangup(*parkedFeed) bool { return false }

func forgetHangup(*parkedFeed) {}
