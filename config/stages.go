package config

// This file binds the configuration to the stage packages: each section's
// type, defaults and validation are the stage's own.

import (
	"reflect"

	"github.com/traceship/shipper/enrich"
	"github.com/traceship/shipper/index"
	"github.com/traceship/shipper/parser"
	"github.com/traceship/shipper/redact"
	"github.com/traceship/shipper/sample"
	"github.com/traceship/shipper/sink"
	"github.com/traceship/shipper/tailer"
)

type ParseConfig = parser.Config

func defaultParse() ParseConfig         { return parser.DefaultConfig() }
func validateParse(c ParseConfig) error { return c.Validate() }

type EnrichConfig = enrich.Config

func defaultEnrich() EnrichConfig         { return enrich.DefaultConfig() }
func validateEnrich(c EnrichConfig) error { return c.Validate() }

type RedactConfig = redact.Config

func defaultRedact() RedactConfig         { return redact.DefaultConfig() }
func validateRedact(c RedactConfig) error { return c.Validate() }

type SampleConfig = sample.Config

func defaultSample() SampleConfig         { return sample.DefaultConfig() }
func validateSample(c SampleConfig) error { return c.Validate() }

type IndexConfig = index.Config

func defaultIndex() IndexConfig         { return index.DefaultConfig() }
func validateIndex(c IndexConfig) error { return c.Validate() }

type TailConfig = tailer.Config

func defaultTail() TailConfig         { return tailer.DefaultConfig() }
func validateTail(c TailConfig) error { return c.Validate() }

type TailInput = tailer.Input

func defaultTailInput() TailInput         { return tailer.DefaultInput() }
func validateTailInput(c TailInput) error { return c.Validate() }

type ElasticsearchConfig = sink.Config

func defaultElasticsearch() ElasticsearchConfig         { return sink.DefaultConfig() }
func validateElasticsearch(c ElasticsearchConfig) error { return c.Validate() }

// stageDefaults gives the defaults of stage types that can appear in a list
// or as an optional section, so that what the user wrote overlays them.
// Immutable after init.
var stageDefaults = map[reflect.Type]func() any{
	reflect.TypeOf(parser.Config{}):           func() any { return parser.DefaultConfig() },
	reflect.TypeOf(parser.MultilineConfig{}):  func() any { return parser.DefaultMultilineConfig() },
	reflect.TypeOf(sample.RateLimit{}):        func() any { return sample.DefaultRateLimit() },
	reflect.TypeOf(sample.KeepTraceOnError{}): func() any { return sample.DefaultKeepTraceOnError() },
	reflect.TypeOf(tailer.Input{}):            func() any { return tailer.DefaultInput() },
}
