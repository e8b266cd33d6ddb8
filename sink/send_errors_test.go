package sink

import "testing"

func TestErrorsFalseReadsOnlyTheHead(t *testing.T) {
	for body, want := range map[string]bool{
		`{"errors":false,"items":[{"create":{"status":201}}]}`:                true,
		`{"took":3,"errors":false,"items":[]}`:                                true,
		`{"errors":true,"items":[{"create":{"status":409}}]}`:                 false,
		`{"items":[{"create":{"status":201}}],"errors":false}`:                false, // unusual order: decode it all
		`{"errors":"false"}`:                                                  false,
		`not json`:                                                            false,
		`{"errors":false,"items":[{"create":{"status":201}},` + "\x00garbage": true, // items are not read
	} {
		if got := errorsFalse([]byte(body)); got != want {
			t.Errorf("errorsFalse(%s) = %v, want %v", body, got, want)
		}
	}
}
