package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/traceship/shipper/index"
)

// SetupKibana creates (or updates) one Kibana data view per index pattern
// glob, with @timestamp as its time field, so that Discover finds the logs
// the minute they arrive. kibanaURL is Kibana's base URL; the credentials
// and TLS settings are those of cfg (Elastic Cloud and most installs share
// them). The views have stable ids ("shipper-" + glob), so running it again
// replaces them instead of adding more.
func SetupKibana(ctx context.Context, kibanaURL string, cfg Config, patterns []*index.Pattern, logger *zap.Logger) error {
	if logger == nil {
		logger = zap.NewNop()
	}
	password, apiKey, err := credentials(cfg)
	if err != nil {
		return err
	}
	tr, err := newTransport(cfg.TLS, 1)
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for _, glob := range index.Globs(patterns) {
		body, _ := json.Marshal(obj{
			"override": true,
			"data_view": obj{
				"id":            dataViewID(glob),
				"title":         glob,
				"name":          "shipper: " + glob,
				"timeFieldName": "@timestamp",
				"allowNoIndex":  true,
			},
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(kibanaURL, "/")+"/api/data_views/data_view", bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("kibana URL: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("kbn-xsrf", "true")
		switch {
		case apiKey != "":
			req.Header.Set("Authorization", "ApiKey "+apiKey)
		case cfg.Username != "":
			req.SetBasicAuth(cfg.Username, password)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("creating Kibana data view %q: %w", glob, err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("creating Kibana data view %q: Kibana answered %d: %s", glob, resp.StatusCode, msg)
		}
		logger.Info("Kibana data view written", zap.String("pattern", glob))
	}
	return nil
}

// dataViewID makes a stable saved-object id from a pattern.
func dataViewID(glob string) string {
	return "shipper-" + strings.NewReplacer("*", "x", ",", "_").Replace(glob)
}
