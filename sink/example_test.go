package sink_test

import (
	"context"
	"log"
	"time"

	"go.uber.org/zap"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/index"
	"github.com/traceship/shipper/sink"
)

// The pipeline's use of the sink: route, write, release the worker's hold;
// the Ack's done function runs once Elasticsearch has every document.
func Example() {
	cfg := sink.DefaultConfig()
	cfg.Hosts = []string{"https://es.example:9200"}
	cfg.APIKeyFile = "/run/secrets/es-api-key"
	s, err := sink.NewWithStateDir(cfg, "/var/lib/shipper", zap.NewNop(), nil)
	if err != nil {
		log.Fatal(err)
	}
	route, _ := index.Compile(index.DefaultPattern, "unknown")
	ctx := context.Background()
	_ = s.Start(ctx)

	b := &shipper.Batch{}
	b.Ack = shipper.NewAck(func() { /* advance the file's checkpoint */ })
	b.Events = append(b.Events, shipper.Event{Ack: b.Ack, Time: time.Now(), Service: "checkout"})
	route.Process(b) // ev.Index = "shipper-checkout-<today>"
	if err := s.Write(ctx, b); err != nil {
		log.Print(err) // ctx ended while Elasticsearch was too slow: nothing was taken
	}
	b.Ack.Release() // the worker's own hold

	shutdownCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_ = s.Shutdown(shutdownCtx)
}
