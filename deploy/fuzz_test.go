package deploy

import (
	"strings"
	"testing"
)

// The deployment files are parsed by small readers written for these tests;
// a reader that panics or misreads on an odd edit would make the checks
// report nonsense (or nothing). Seeds are the real files.

func FuzzParseUnit(f *testing.F) {
	data, err := readRepoFile(unitName)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("[A]\nK=v \\\n w\n;c\n#c\nK=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := parseUnit(data)
		if err != nil {
			return
		}
		for sec, keys := range u {
			if strings.ContainsAny(sec, "\n") {
				t.Errorf("section %q spans lines", sec)
			}
			for k, vs := range keys {
				if strings.Contains(k, "=") || k != strings.TrimSpace(k) {
					t.Errorf("key %q: holds '=' or untrimmed space", k)
				}
				for _, v := range vs {
					if v != strings.TrimSpace(v) {
						t.Errorf("%s=%q: untrimmed value", k, v)
					}
				}
				// list() must agree with the assignments: nothing after
				// the last empty one is lost.
				var want []string
				for _, v := range vs {
					if v == "" {
						want = nil
					} else {
						want = append(want, strings.Fields(v)...)
					}
				}
				if got := u.list(sec, k); strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("list(%s, %s) = %q, want %q", sec, k, got, want)
				}
			}
		}
	})
}

func FuzzParseDockerfile(f *testing.F) {
	data, err := readRepoFile("Dockerfile")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("FROM a AS b\nRUN x \\\n# c\n  y\nCOPY --from=b --chown=1:1 /a /b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ins := parseDockerfile(data)
		last := 0
		for _, in := range ins {
			if in.line <= last {
				t.Errorf("instruction %s at line %d after line %d", in.cmd, in.line, last)
			}
			last = in.line
			if in.cmd != strings.ToUpper(in.cmd) {
				t.Errorf("instruction %q not upper-cased", in.cmd)
			}
			if strings.HasPrefix(in.args, "--") && strings.Contains(in.args, " ") {
				t.Errorf("%s %q: a leading flag was left in the arguments", in.cmd, in.args)
			}
		}
		_, stages := dockerStages(ins)
		for _, st := range stages {
			if st.from.cmd != "FROM" {
				t.Errorf("stage opened by %s", st.from.cmd)
			}
		}
		// The check itself must not panic on any Dockerfile.
		_ = checkDockerfile(assets{"Dockerfile": data, "go.mod": []byte("module m\n\ngo 1.26.8\n")})
	})
}

func FuzzParseTimespan(f *testing.F) {
	for _, s := range []string{"30s", "1min 30s", "90", "500ms", "2h", "1.5s", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseTimespan(s)
		if ok && d < 0 && !strings.Contains(s, "-") {
			t.Errorf("parseTimespan(%q) = %v: negative from no minus sign", s, d)
		}
	})
}
