// A peer for tests/bench/h2-unauthorized.sh: Go's net/http (kube-apiserver's HTTP stack, h2 and http/1.1 by ALPN)
// answering as kube-apiserver's authentication filter does.
//
// A client certificate the CA did not sign gets 401 and a Status body, the request body left unread; over
// HTTP/2 the response also carries "Connection: close", which makes Go send GOAWAY and end the connection,
// as kube-apiserver does for unauthenticated HTTP/2 clients (its UnauthenticatedHTTP2DOSMitigation, on by
// default since 1.29). A trusted client gets its body read and a Status Success.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
)

const unauthorized = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",` +
	`"reason":"Unauthorized","code":401}` + "\n"
const success = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","code":200}` + "\n"

func main() {
	caFile := flag.String("ca", "", "CA that client certificates must chain to")
	certFile := flag.String("cert", "", "server certificate")
	keyFile := flag.String("key", "", "server key")
	portFile := flag.String("port-file", "", "where to write the port once listening")
	flag.Parse()
	caPEM, err := os.ReadFile(*caFile)
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	authenticated := func(r *http.Request) bool {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return false
		}
		_, err := r.TLS.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		return err == nil
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !authenticated(r) {
			if r.ProtoMajor == 2 {
				w.Header().Set("Connection", "close")
			}
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, unauthorized)
			return
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, success)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	port := fmt.Sprintf("%d\n", ln.Addr().(*net.TCPAddr).Port)
	if err := os.WriteFile(*portFile+".tmp", []byte(port), 0600); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(*portFile+".tmp", *portFile); err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: handler, TLSConfig: &tls.Config{
		ClientAuth: tls.RequestClientCert, NextProtos: []string{"h2", "http/1.1"}}}
	log.Fatal(srv.ServeTLS(ln, *certFile, *keyFile))
}
