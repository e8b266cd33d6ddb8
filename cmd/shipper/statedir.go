package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFile is the file in state_dir that the running agent holds locked.
const lockFile = "shipper.lock"

// lockStateDir creates the state directory and takes an exclusive lock on
// it, which the process holds until unlock or its exit. A second agent
// given the same state_dir then stops at its start: two agents would each
// ship every line and overwrite each other's checkpoints. The kernel drops
// the lock when the process ends, also in a crash, so no stale lock can keep
// the agent from starting again. Taking it also finds out at once, not after
// Elasticsearch is reached, that state_dir cannot be written.
func lockStateDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("state_dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("state_dir %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder, _ := os.ReadFile(path)
			return nil, fmt.Errorf("state_dir %s is in use by another shipper (pid %s); two agents must not share one state_dir", dir, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("state_dir: locking %s: %w", path, err)
	}
	// The pid is for the message above; the lock is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}
