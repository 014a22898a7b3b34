// Package e2e holds gohost's end-to-end tests: they build the real binary
// (cmd/gohost) once in TestMain, start it on loopback with the small WSGI
// apps in python/testapps (and the Flask and Django examples), and talk to it
// over raw sockets and with net/http.
//
// Run: go test ./e2e/ -v            (all, ~2-3 minutes)
//
//	go test ./e2e/ -run TestWire  (one topic)
//
// Every test app that is meant to be PEP 3333-clean runs inside
// wsgiref.validate.validator; each server's validator log must be empty when
// the test stops it.
package e2e
