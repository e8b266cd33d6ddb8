package freelist

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestListKeepsUpToItsBound(t *testing.T) {
	l := New[*[]byte](10 << 10)
	var bufs []*[]byte
	for range 4 {
		b := make([]byte, 4<<10)
		bufs = append(bufs, &b)
	}
	kept := 0
	for _, b := range bufs {
		if l.Put(b, int64(cap(*b))) {
			kept++
		}
	}
	if kept != 2 || l.Held() != 8<<10 {
		t.Fatalf("kept %d buffers holding %d bytes; want 2 and 8192 (the bound is 10 KiB)", kept, l.Held())
	}
	if b, ok := l.Get(); !ok || b != bufs[1] {
		t.Fatalf("Get = %p, %v; want the last buffer put (%p)", b, ok, bufs[1])
	}
	if l.Held() != 4<<10 {
		t.Fatalf("held %d after a Get; want 4096", l.Held())
	}
	l.Get()
	if _, ok := l.Get(); ok {
		t.Fatal("Get on an empty list returned a value")
	}
}

// TestListSurvivesGarbageCollection is the reason the package exists: a
// sync.Pool would be empty after two collections.
func TestListSurvivesGarbageCollection(t *testing.T) {
	l := New[*[]byte](1 << 20)
	b := make([]byte, 64<<10)
	l.Put(&b, int64(cap(b)))
	runtime.GC()
	runtime.GC()
	if got, ok := l.Get(); !ok || got != &b {
		t.Fatal("the buffer put before two collections is gone")
	}
}

func TestSharedBound(t *testing.T) {
	var held atomic.Int64
	small, large := Shared[int](100, &held), Shared[int](100, &held)
	if !small.Put(1, 60) || large.Put(2, 60) {
		t.Fatal("two lists sharing a 100-byte bound took 120 bytes")
	}
	small.Get()
	if !large.Put(2, 60) {
		t.Fatal("the bound freed by a Get on one list is not available to the other")
	}
}

func TestConcurrentUseKeepsTheAccounting(t *testing.T) {
	l := New[int](1 << 20)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				if v, ok := l.Get(); ok {
					l.Put(v, 100)
				} else {
					l.Put(g*1000+i, 100)
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	for {
		if _, ok := l.Get(); !ok {
			break
		}
		n++
	}
	if l.Held() != 0 {
		t.Fatalf("held %d bytes after draining %d values; want 0", l.Held(), n)
	}
}

func TestShrinkGivesBackTheOlderHalf(t *testing.T) {
	l := New[int](100)
	for i := range 5 {
		l.Put(i, 10)
	}
	l.Shrink()
	if l.Held() != 20 {
		t.Errorf("held %d after Shrink, want 20 (two of five kept)", l.Held())
	}
	for _, want := range []int{4, 3} {
		if v, ok := l.Get(); !ok || v != want {
			t.Errorf("Get = %d, %v; want %d, the newest kept", v, ok, want)
		}
	}
	if _, ok := l.Get(); ok || l.Held() != 0 {
		t.Errorf("the list is not empty: held %d", l.Held())
	}
}
