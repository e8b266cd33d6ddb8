package tailer

import (
	"errors"
	"strings"
	"testing"

	"github.com/traceship/shipper"
)

func TestDefaultsAreValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig: %v", err)
	}
	in := DefaultInput()
	in.Paths = []string{"/var/log/**/*.log"}
	if err := in.Validate(); err != nil {
		t.Errorf("DefaultInput with a path: %v", err)
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	in := Input{Paths: []string{"/a/[", "/b/x**y"}, Exclude: []string{""}, StartAt: "middle"}
	err := in.Validate()
	want := []string{"paths[0]", "paths[1]", "exclude[0]", "start_at", "scan_interval", "close_inactive", "flush_after", "max_line_bytes"}
	assertPaths(t, err, want)
	if !strings.Contains(err.Error(), `"beginning", "end"`) {
		t.Errorf("start_at error does not list the allowed values: %v", err)
	}
	assertPaths(t, Config{}.Validate(), []string{"max_open_files", "checkpoint_interval", "batch_max_lines", "batch_max_bytes", "max_inflight_bytes", "clean_removed"})
	assertPaths(t, Input{StartAt: "end", ScanInterval: 1, CloseInactive: 1, FlushAfter: 1, MaxLineBytes: 1}.Validate(), []string{"paths"})
}

func assertPaths(t *testing.T, err error, want []string) {
	t.Helper()
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *shipper.FieldError
		if !errors.As(e, &fe) {
			t.Errorf("error %v is not a *shipper.FieldError", e)
			continue
		}
		got = append(got, fe.Path)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("error paths = %v, want %v", got, want)
	}
}
