package federation_test

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// The hub's slot fan-out builds its own request; it must spell the Ssp-*
// header names as the spec does, as the consumer package does. The request
// head is read off a bare loopback listener because httptest would
// canonicalise the names.
func TestFanoutSpineHeaderNamesOnTheWire(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		rd := bufio.NewReader(conn)
		var head strings.Builder
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				break
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		got <- head.String()
		body := `{"resourceType":"Bundle","type":"searchset","entry":[]}`
		conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json;charset=utf-8\r\nConnection: close\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body))
	}()
	hc := federation.NewHTTPClient(4)
	defer hc.CloseIdleConnections()
	g := federation.NewGPConnect(testIdentity(), hc, "")
	ep := &scheduling.Endpoint{ODS: "F00001", ServiceRoot: "http://" + ln.Addr().String() + "/F00001/STU3/1/gpconnect", ASID: "918999198993", Enabled: true}
	start := scheduling.LocalMidnight(time.Now().AddDate(0, 0, 1))
	if _, _, err := g.SearchSlots(context.Background(), ep, federation.SlotRequest{Start: start, End: start.AddDate(0, 0, 2)}); err != nil {
		t.Fatal(err)
	}
	head := <-got
	for _, want := range []string{"Ssp-TraceID: ", "Ssp-From: 200000000359", "Ssp-To: 918999198993", "Ssp-InteractionID: " + string(gpconnect.SearchSlot)} {
		if !strings.Contains(head, "\r\n"+want) {
			t.Errorf("request head lacks %q:\n%s", want, head)
		}
	}
}
