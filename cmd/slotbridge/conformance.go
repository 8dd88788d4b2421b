package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/conformance"
	"github.com/slotbridge/slotbridge/consumer"
)

// errChecksFailed makes the command exit non-zero after printing its own summary.
var errChecksFailed = errors.New("conformance checks failed")

// runConformance runs the black-box conformance suite against a provider.
func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", "", "provider service root (https://host/A20047/STU3/1/gpconnect), or just the server URL: /{ODS}/STU3/1/gpconnect is then added from the data map")
	dataPath := fs.String("data", "", "JSON data map (which NHS numbers, ODS codes, ASIDs to use); default: the GP Connect test pack's data, as in serve --demo")
	only := fs.String("only", "", "comma-separated groups to run (default all): "+strings.Join(conformance.Groups(), ","))
	jsonPath := fs.String("json", "", "also write the report as JSON to this file")
	proxy := fs.String("proxy", "", "Spine Secure Proxy prefix: requests go to PROXY/{service root}/...")
	cert := fs.String("cert", "", "client certificate (PEM) for mutual TLS")
	key := fs.String("key", "", "client key (PEM) for mutual TLS")
	ca := fs.String("ca", "", "trusted CA certificates (PEM) for the provider's certificate")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout per request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: slotbridge conformance --base URL [--data map.json] [--only group,...] [--json report.json]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *base == "" {
		fs.Usage()
		return errors.New("conformance: --base is required")
	}
	d, err := conformance.LoadData(*dataPath)
	if err != nil {
		return err
	}
	root := strings.TrimRight(*base, "/")
	if !strings.Contains(root, "/STU3/") {
		root += "/" + d.ODS + "/STU3/1/gpconnect"
	}
	c, err := conformance.NewClient(root, d, func(cfg *consumer.Config) {
		cfg.ProxyURL, cfg.CertFile, cfg.KeyFile, cfg.CAFile, cfg.Timeout = *proxy, *cert, *key, *ca, *timeout
	})
	if err != nil {
		return err
	}
	var groups []string
	for _, g := range strings.Split(*only, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	fmt.Fprintf(stdout, "conformance: %s (practice %s, ASID %s)\n", root, d.ODS, d.ProviderASID)
	rep, err := conformance.Run(ctx, conformance.Config{Client: c, Data: d, Only: groups, Out: stdout})
	if rep != nil && *jsonPath != "" {
		f, ferr := os.Create(*jsonPath)
		if ferr != nil {
			return ferr
		}
		werr := rep.WriteJSON(f)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("%w: %d of %d", errChecksFailed, rep.Failed, len(rep.Results))
	}
	return nil
}
