// Package wiretest is a loopback server for tests that must see a request
// as it went on the wire: httptest hands handlers canonicalised header
// names, which hides how a client spelt them.
package wiretest

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
)

// Serve accepts loopback connections until the test ends, sends each
// request head, as its bytes arrived, on heads, and answers every request
// with status 200 and body (of type contentType, if not empty), closing the
// connection. It returns the server's base URL ("http://127.0.0.1:port").
func Serve(tb testing.TB, contentType, body string) (base string, heads <-chan string) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	reply := "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	if contentType != "" {
		reply += "Content-Type: " + contentType + "\r\n"
	}
	reply += "\r\n" + body
	got := make(chan string, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if head, ok := readHead(bufio.NewReader(conn)); ok {
					got <- head
					conn.Write([]byte(reply))
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), got
}

// readHead reads a request line and headers, up to the blank line.
func readHead(rd *bufio.Reader) (string, bool) {
	var head strings.Builder
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return "", false
		}
		head.WriteString(line)
		if line == "\r\n" {
			return head.String(), true
		}
	}
}
